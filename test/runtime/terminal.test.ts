/**
 * A foreground `run` with a terminal and no --console-socket, where carton-init must
 * stop at SYNCs (user-namespace maps, prestart hooks) after connecting the console
 * socket: the runtime has to keep answering them while it waits for the pty master.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { makeBundle, minimalSpec } from '../helpers/busybox';
import { runInPty } from '../helpers/pty';
import { BIN, leftovers, runtimeFixture } from './helpers';

const fx = runtimeFixture();
const root = fx.root;
after(() => fx.cleanup());

test('run -t with a user namespace and a prestart hook does not deadlock on the console socket', async () => {
  const spec = minimalSpec(['sh', '-c', 'tty; id -u; read go; stty size']);
  spec.process!.terminal = true;
  spec.linux!.namespaces!.push({ type: 'user' });
  spec.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  spec.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  const b = makeBundle(spec);
  fx.keep(b);
  fs.chmodSync(b, 0o755); // the mapped root must reach its rootfs
  const marker = path.join(b, 'prestart-ran');
  spec.hooks = { prestart: [{ path: '/bin/sh', args: ['sh', '-c', `cat > ${marker}`] }] };
  fs.writeFileSync(path.join(b, 'config.json'), JSON.stringify(spec));
  const id = fx.id('tty-userns');
  const r = await runInPty(`stty rows 33 cols 77; ${process.execPath} ${BIN} --root ${root} run -b ${b} ${id}`, {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: '' },
    timeoutMs: 20_000,
    // Typed once output flows: by then the proxy is up and has set the pty's size.
    waitFor: '/dev/pts/',
    input: 'go\n',
  });
  assert.equal(r.timedOut, false, `hung; output so far: ${r.output}`);
  assert.equal(r.status, 0, r.output);
  assert.match(r.output, /\/dev\/pts\/0/);
  assert.match(r.output, /^0\r?$/m);
  // The caller's window size reaches the container's pty (TIOCSWINSZ on the master).
  assert.match(r.output, /^33 77\r?$/m);
  assert.ok(fs.existsSync(marker), 'the prestart hook ran');
  assert.equal(JSON.parse(fs.readFileSync(marker, 'utf8')).id, id);
  assert.deepEqual(leftovers(root, id, b), []);
});
