import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { startRegistry, TestRegistry } from '../registry/harness';
import { OciLayout, baseLayerEntries, buildTestImage, featureLayerEntries, skopeoPush } from '../registry/image-builder';
import { CartonEnv, cartonEnv, leftovers } from './helpers';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
let registry: TestRegistry;
let env: CartonEnv;
let layoutDir: string;
let APP: string;
let PLAIN: string;

/** An image whose config exercises Entrypoint, Cmd, User, WorkingDir, Env and Volumes. */
function addAppImage(layout: OciLayout, tag: string): void {
  const layers = [layout.addLayer(baseLayerEntries()), layout.addLayer(featureLayerEntries(0, tag))];
  const config = {
    created: '2026-01-01T00:00:00Z',
    architecture: 'amd64',
    os: 'linux',
    config: {
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'APP=1'],
      Entrypoint: ['/bin/sh', '-c'],
      Cmd: ['echo from-cmd $APP; id -u; pwd; ls /opt/replaced'],
      User: 'nobody',
      WorkingDir: '/opt/replaced',
      Volumes: { '/opt/replaced': {} },
    },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
  };
  const cfg = layout.addBlob(Buffer.from(JSON.stringify(config)));
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...cfg },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  layout.tag(tag, layout.addBlob(Buffer.from(JSON.stringify(manifest))), OCI_MANIFEST);
}

before(async () => {
  registry = await startRegistry();
  env = cartonEnv();
  layoutDir = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-layout-'));
  const layout = new OciLayout(layoutDir);
  addAppImage(layout, 'app');
  buildTestImage(layout, 'plain');
  APP = `${registry.host}/carton-test/app:v1`;
  PLAIN = `${registry.host}/carton-test/plain:v1`;
  await skopeoPush(layoutDir, 'app', APP);
  await skopeoPush(layoutDir, 'plain', PLAIN);
});

after(async () => {
  await env?.cleanup();
  await registry?.stop();
  if (layoutDir) fs.rmSync(layoutDir, { recursive: true, force: true });
});

test('pull shows Docker\'s lines; images lists it in table, -q, --digests and JSON forms', () => {
  const r = env.run(['pull', APP]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^v1: Pulling from carton-test\/app\n/);
  assert.match(r.stdout, /Digest: sha256:[0-9a-f]{64}\n/);
  assert.match(r.stdout, new RegExp(`Status: Downloaded newer image for ${APP}\n`));
  const table = env.run(['images']).stdout.split('\n');
  assert.match(table[0], /^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE$/);
  assert.match(table[1], new RegExp(`^${registry.host}/carton-test/app +v1 +[0-9a-f]{12} +\\d+ (months|weeks|days|years) ago +[\\d.]+[kM]B$`));
  const id = env.run(['images', '-q']).stdout.trim();
  assert.match(id, /^[0-9a-f]{12}$/);
  assert.match(env.run(['images', '--digests']).stdout, /DIGEST .*\n.* sha256:[0-9a-f]{64} /);
  const json = JSON.parse(env.run(['image', 'ls', '--format', '{{json .}}']).stdout);
  assert.equal(json.Repository, `${registry.host}/carton-test/app`);
  assert.equal(json.Tag, 'v1');
  assert.equal(json.ID, id);
});

test('run applies the image config: entrypoint + cmd, env, user, working dir, volume content', () => {
  const r = env.run(['run', '--rm', APP]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'from-cmd 1\n65534\n/opt/replaced\nold-file\n');
  const over = env.run(['run', '--rm', '--entrypoint', '/bin/echo', '-u', '0', APP, 'hi']);
  assert.equal(over.stdout, 'hi\n', over.stderr);
  const cleared = env.run(['run', '--rm', '--entrypoint', '', APP, '/bin/sh', '-c', 'echo $APP']);
  assert.equal(cleared.stdout, '1\n', cleared.stderr);
  // Nothing of the --rm runs is left: no snapshot, no volume, no mount.
  assert.deepEqual(fs.readdirSync(path.join(env.root, 'containers')), []);
  assert.deepEqual(leftovers(env.root), []);
  assert.deepEqual(fs.existsSync(path.join(env.root, 'volumes')) ? fs.readdirSync(path.join(env.root, 'volumes')) : [], []);
});

test('run pulls a missing image first, and the layers\' whiteouts hold', () => {
  const r = env.run(['run', '--rm', PLAIN, 'sh', '-c', 'ls /opt/replaced; cat /etc/motd 2>/dev/null || echo no-motd']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`Unable to find image '${PLAIN}' locally`));
  assert.equal(r.stdout, 'new-file\nno-motd\n');
  const unknown = env.run(['run', '--rm', `${registry.host}/carton-test/nosuch:v1`, 'true']);
  assert.equal(unknown.status, 125);
});

test('rmi refuses an image a container uses; tag, inspect and prune', () => {
  const kept = env.run(['run', '--name', 'carton-test-user', PLAIN, 'true']);
  assert.equal(kept.status, 0, kept.stderr);
  const refused = env.run(['rmi', PLAIN]);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /conflict: unable to remove .* container [0-9a-f]{12} is using its referenced image/);
  assert.equal(env.run(['tag', PLAIN, 'carton-test/alias:x']).status, 0);
  const info = JSON.parse(env.run(['image', 'inspect', 'carton-test/alias:x']).stdout);
  assert.equal(info.length, 1);
  assert.ok(info[0].RepoTags.includes('carton-test/alias:x'));
  assert.equal(info[0].Config.Cmd[0], '/bin/sh');
  assert.equal(info[0].RootFS.Layers.length, 3);
  assert.equal(env.run(['inspect', '--format', '{{.Os}}/{{.Architecture}}', 'carton-test/alias:x']).stdout, 'linux/amd64\n');
  assert.equal(env.run(['rm', 'carton-test-user']).status, 0);
  const rmi = env.run(['rmi', PLAIN, 'carton-test/alias:x']);
  assert.equal(rmi.status, 0, rmi.stderr);
  assert.match(rmi.stdout, /Untagged: carton-test\/alias:x\n/);
  assert.match(rmi.stdout, /Deleted: sha256:[0-9a-f]{64}\n/);
  assert.doesNotMatch(env.run(['images']).stdout, /plain/);
  const prune = env.run(['image', 'prune', '-a', '-f']);
  assert.equal(prune.status, 0, prune.stderr);
  assert.match(prune.stdout, /Total reclaimed space: /);
  assert.equal(env.run(['images', '-q']).stdout, '');
});

test('push sends a tagged image to the registry, where skopeo finds the same config', async () => {
  assert.equal(env.run(['pull', '-q', APP]).status, 0);
  const dest = `${registry.host}/carton-test/pushed:v2`;
  assert.equal(env.run(['tag', APP, dest]).status, 0);
  const push = env.run(['push', dest]);
  assert.equal(push.status, 0, push.stderr);
  assert.match(push.stdout, new RegExp(`^The push refers to repository \\[${registry.host}/carton-test/pushed\\]\\n`));
  assert.match(push.stdout, /v2: digest: sha256:[0-9a-f]{64} size: \d+\n$/);
  const { skopeoInspect } = await import('../registry/image-builder');
  const remote = await skopeoInspect(dest);
  const local = JSON.parse(env.run(['image', 'inspect', dest]).stdout)[0];
  assert.equal((remote.Layers as string[]).length, local.RootFS.Layers.length);
  assert.equal((remote.Env as string[]).includes('APP=1'), true);
});

test('a run refused for bad input leaves no snapshot, record or mount behind', () => {
  assert.equal(env.run(['pull', '-q', APP]).status, 0);
  for (const flags of [['-u', 'nosuchuser'], ['-w', 'relative'], ['--mount', 'type=bind,src=/nonexistent-carton-test,dst=/x']]) {
    const r = env.run(['run', ...flags, APP]);
    assert.equal(r.status, 125, `${flags.join(' ')}: ${r.stderr}`);
  }
  const snapshots = path.join(env.root, 'snapshots');
  assert.deepEqual(fs.existsSync(snapshots) ? fs.readdirSync(snapshots) : [], []);
  assert.equal(env.run(['ps', '-aq']).stdout, '');
  assert.deepEqual(leftovers(env.root), []);
});
