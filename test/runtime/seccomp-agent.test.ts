/**
 * linux.seccomp.listenerPath: the seccomp agent receives the notify fd together with
 * the runtime-spec ContainerProcessState, for a container made by create + start (the
 * state is fetched before READY, the fd sent once the filter is loaded) and for exec.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { makeBundle, minimalSpec, removeBundle } from '../helpers/busybox';
import { addon, recvFdAsync } from '../../src/native/addon';
import { forceCleanup, leftovers, makeRoot, newId, runtimeDetached, runtimeSync } from './helpers';

const root = makeRoot();
const agentDir = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-agent-'));
const listenerPath = path.join(agentDir, 'agent.sock');
const bundles: string[] = [];
const ids: string[] = [];
let server: net.Server | undefined;

after(() => {
  server?.close();
  for (const id of ids) forceCleanup(root, id);
  for (const b of bundles) removeBundle(b);
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(agentDir, { recursive: true, force: true });
});

interface Received {
  fdLink: string;
  state: Record<string, any>;
}

/**
 * A tiny agent: each connection delivers one message. The runtime runs under
 * spawnSync (our loop is blocked), which is fine: the init's connect and send land in
 * the socket's backlog and buffer, and are read here afterwards.
 */
function startAgent(): { next(): Promise<Received> } {
  const queue: Array<Promise<Received>> = [];
  server = net.createServer({ pauseOnConnect: true }, (conn) => {
    const fd = (conn as unknown as { _handle: { fd: number } })._handle.fd;
    queue.push(
      recvFdAsync(fd, 10_000).then(({ fd: got, payload }) => {
        try {
          return { fdLink: fs.readlinkSync(`/proc/self/fd/${got}`), state: JSON.parse(payload.toString('utf8')) };
        } finally {
          fs.closeSync(got);
          conn.destroy();
        }
      }),
    );
  });
  server.listen(listenerPath);
  return {
    async next() {
      const deadline = Date.now() + 10_000;
      while (queue.length === 0) {
        if (Date.now() > deadline) throw new Error('the agent got no connection');
        await new Promise((r) => setTimeout(r, 20));
      }
      return queue.shift()!;
    },
  };
}

test('the seccomp agent gets the notify fd and the container process state (create, start, exec)', async () => {
  assert.equal(typeof addon().recvFdMessage, 'function');
  const agent = startAgent();
  await new Promise((r) => server!.once('listening', r));
  const spec = minimalSpec(['sleep', '30']);
  spec.linux!.seccomp = {
    defaultAction: 'SCMP_ACT_ALLOW',
    listenerPath,
    listenerMetadata: 'carton-test-metadata',
    // A syscall nothing here makes: the filter must not get in the test's way.
    syscalls: [{ names: ['sethostname'], action: 'SCMP_ACT_NOTIFY' }],
  };
  const b = makeBundle(spec);
  bundles.push(b);
  const id = newId('agent');
  ids.push(id);

  const created = runtimeDetached(root, ['create', '-b', b, id]);
  assert.equal(created.status, 0, created.stderr);
  const started = runtimeSync(root, ['start', id]);
  assert.equal(started.status, 0, started.stderr);
  const first = await agent.next();
  assert.equal(first.fdLink, 'anon_inode:seccomp notify');
  const state = JSON.parse(runtimeSync(root, ['state', id]).stdout) as { pid: number };
  assert.equal(first.state.ociVersion, first.state.state.ociVersion);
  assert.match(first.state.ociVersion, /^1\./);
  assert.deepEqual(first.state.fds, ['seccompFd']);
  assert.equal(first.state.pid, state.pid);
  assert.equal(first.state.metadata, 'carton-test-metadata');
  assert.equal(first.state.state.id, id);
  assert.equal(first.state.state.pid, state.pid);
  assert.equal(first.state.state.bundle, b);

  const exec = runtimeSync(root, ['exec', id, 'sh', '-c', 'echo $$']);
  assert.equal(exec.status, 0, exec.stderr);
  const second = await agent.next();
  assert.equal(second.fdLink, 'anon_inode:seccomp notify');
  assert.equal(second.state.metadata, 'carton-test-metadata');
  assert.equal(second.state.state.status, 'running');
  assert.equal(second.state.state.pid, state.pid);
  assert.ok(second.state.pid > 0 && second.state.pid !== state.pid, `exec pid ${second.state.pid}`);

  assert.equal(runtimeSync(root, ['delete', '--force', id]).status, 0);
  assert.deepEqual(leftovers(root, id, b), []);
});
