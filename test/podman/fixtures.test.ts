/**
 * The config.json files Podman generated (../shared/reference/podman-config-*.json)
 * run as they are with carton-runtime, with only host paths swapped: root.path →
 * a busybox rootfs, bind sources → temp files, the joined netns → one made here,
 * cgroupsPath → a carton-test path.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Spec } from '../../src/oci/spec';
import { makeBusyboxRootfs } from '../helpers/busybox';
import { forceCleanup, leftovers, makeRoot, newId, runtimeDetached, runtimeSync, stateOf } from '../runtime/helpers';

const REFERENCE = '/work/shared/reference';
const root = makeRoot();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-fixtures-'));
const netns = `carton-test-ns-${process.pid}`;
const ids: string[] = [];
let netnsMade = false;

after(() => {
  for (const id of ids) forceCleanup(root, id);
  if (netnsMade) spawnSync('ip', ['netns', 'del', netns]);
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.rmSync(root, { recursive: true, force: true });
});

function fixtureBundle(name: string, id: string): { bundle: string; spec: Spec } {
  const spec = JSON.parse(fs.readFileSync(path.join(REFERENCE, `podman-config-${name}.json`), 'utf8')) as Spec;
  const bundle = fs.mkdtempSync(path.join(tmp, `${name}-`));
  const rootfs = makeBusyboxRootfs(path.join(bundle, 'rootfs'));
  spec.root!.path = rootfs;
  const userdata = path.join(bundle, 'userdata');
  fs.mkdirSync(path.join(userdata, 'shm'), { recursive: true });
  for (const m of spec.mounts ?? []) {
    if (m.type !== 'bind' || !m.source) continue;
    const base = path.basename(m.source);
    const src = path.join(userdata, base);
    if (!fs.existsSync(src)) fs.writeFileSync(src, base === 'hostname' ? `${spec.hostname}\n` : base === 'hosts' ? '127.0.0.1 localhost\n' : '');
    m.source = src;
  }
  for (const ns of spec.linux?.namespaces ?? []) {
    if (ns.path) {
      if (!netnsMade) {
        assert.equal(spawnSync('ip', ['netns', 'add', netns]).status, 0);
        netnsMade = true;
      }
      ns.path = `/run/netns/${netns}`;
    }
  }
  spec.linux!.cgroupsPath = `/carton-test-fixtures/${id}`;
  fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec));
  return { bundle, spec };
}

function id(label: string): string {
  const i = newId(label);
  ids.push(i);
  return i;
}

describe('podman config.json fixtures', () => {
  test('run-d: runs detached with the seccomp profile, caps and limits; state and delete work', () => {
    const cid = id('fx-rund');
    const { bundle } = fixtureBundle('run-d', cid);
    const r = runtimeDetached(root, ['run', '-d', '-b', bundle, cid]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(stateOf(root, cid).status, 'running');
    const ex = runtimeSync(root, ['exec', cid, 'sh', '-c', 'cat /etc/hostname; grep CapEff /proc/self/status; ulimit -n; cat /sys/fs/cgroup/pids/pids.max']);
    assert.equal(ex.status, 0, ex.stderr);
    assert.equal(ex.stdout, 'b35f49577e43\nCapEff:\t00000000a80425fb\n20000\n2048\n');
    assert.equal(runtimeSync(root, ['delete', '--force', cid]).status, 0);
    assert.deepEqual(leftovers(root, cid, bundle), []);
  });

  test('tty: a terminal proxied by a foreground run', () => {
    const cid = id('fx-tty');
    const { bundle } = fixtureBundle('tty', cid);
    const r = runtimeSync(root, ['run', '-b', bundle, cid], { input: '' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /\/dev\/pts\/0\r?\nin-run-tty/);
    assert.deepEqual(leftovers(root, cid, bundle), []);
  });

  test('defaultnet: joins the network namespace by path', () => {
    const cid = id('fx-net');
    const { bundle } = fixtureBundle('defaultnet', cid);
    // A fresh network namespace has lo down; bringing it up in the named one marks it.
    assert.equal(spawnSync('ip', ['netns', 'exec', netns, 'ip', 'link', 'set', 'lo', 'up']).status, 0);
    const r = runtimeSync(root, ['run', '-b', bundle, cid]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^1: lo: <LOOPBACK,UP,LOWER_UP>/);
    assert.deepEqual(leftovers(root, cid, bundle), []);
  });
});
