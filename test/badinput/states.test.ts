/**
 * Commands on a container in the wrong state (issue 3 §4): update of a stopped container,
 * resume of a running one, pause of a stopped one, start twice, exec into a stopped one,
 * kill of a stopped one with and without --all, delete of a running one without --force.
 *
 * Every case runs against carton-runtime AND the installed runc (1.1.5 here), on the same
 * kind of bundle, and asserts the exit status and the gist of the message for both, so a
 * script written against runc (containerd's shim matches "container not running" and
 * "does not exist" in kill's output) behaves the same. Where runc's wording differs the
 * table records both. A refused command must leave the container as it was.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, RUNC_AVAILABLE, RuntimeName, waitUntil } from './harness';
import { leaksOf } from './leaks';

const lab = new Lab();
const runtimes: RuntimeName[] = RUNC_AVAILABLE ? ['carton', 'runc'] : ['carton'];

type Role = 'running' | 'created' | 'stopped';
const ids = {} as Record<RuntimeName, Record<Role, string>>;
const bundles = {} as Record<RuntimeName, Record<Role, string>>;

before(() => {
  for (const rt of runtimes) {
    ids[rt] = { running: lab.id(`st-running-${rt}`, rt), created: lab.id(`st-created-${rt}`, rt), stopped: lab.id(`st-stopped-${rt}`, rt) };
    bundles[rt] = {
      running: lab.bundle(ids[rt].running, ['sleep', '120']),
      created: lab.bundle(ids[rt].created, ['true']),
      stopped: lab.bundle(ids[rt].stopped, ['true']),
    };
    assert.equal(lab.detached(rt, ['run', '-d', '-b', bundles[rt].running, ids[rt].running]).status, 0);
    assert.equal(lab.detached(rt, ['create', '-b', bundles[rt].created, ids[rt].created]).status, 0);
    assert.equal(lab.detached(rt, ['run', '-d', '-b', bundles[rt].stopped, ids[rt].stopped]).status, 0);
    assert.ok(waitUntil(() => lab.state(rt, ids[rt].stopped).status === 'stopped'), `${rt}: stopped container did not stop`);
  }
});

after(() => lab.cleanup());

interface Case {
  /** Arguments; ROLE is replaced by that container's id. */
  args: (id: Record<Role, string>) => string[];
  status: number;
  /** The gist both runtimes' messages must match (exact wording per runtime in `wording`). */
  gist: RegExp;
  wording: Record<RuntimeName, RegExp>;
  /** The container whose state must be unchanged afterwards. */
  keeps?: Role;
}

const CASES: Record<string, Case> = {
  'update of a stopped container': {
    args: (i) => ['update', '--memory', '64m', i.stopped],
    status: 1,
    gist: /not running|stopped/,
    wording: { carton: /cannot update a stopped container/, runc: /container not running/ },
    keeps: 'stopped',
  },
  'resume of a running container': {
    args: (i) => ['resume', i.running],
    status: 1,
    gist: /container not paused/,
    wording: { carton: /container not paused/, runc: /container not paused/ },
    keeps: 'running',
  },
  'resume of a created (not paused) container': {
    args: (i) => ['resume', i.created],
    status: 1,
    gist: /container not paused/,
    wording: { carton: /container not paused/, runc: /container not paused/ },
    keeps: 'created',
  },
  'resume of a stopped container': {
    args: (i) => ['resume', i.stopped],
    status: 1,
    gist: /container not paused/,
    wording: { carton: /container not paused/, runc: /container not paused/ },
    keeps: 'stopped',
  },
  'pause of a stopped container': {
    args: (i) => ['pause', i.stopped],
    status: 1,
    gist: /container not running/,
    wording: { carton: /container not running/, runc: /container not running/ },
    keeps: 'stopped',
  },
  'start of a stopped container': {
    args: (i) => ['start', i.stopped],
    status: 1,
    gist: /cannot start a container that has stopped/,
    wording: { carton: /cannot start a container that has stopped/, runc: /cannot start a container that has stopped/ },
    keeps: 'stopped',
  },
  'start of a running container': {
    args: (i) => ['start', i.running],
    status: 1,
    gist: /cannot start an already running container/,
    wording: { carton: /cannot start an already running container/, runc: /cannot start an already running container/ },
    keeps: 'running',
  },
  'exec into a stopped container (255, as exec failures are)': {
    args: (i) => ['exec', i.stopped, 'true'],
    status: 255,
    gist: /cannot exec in a stopped container/,
    wording: { carton: /cannot exec in a stopped container/, runc: /exec failed: cannot exec in a stopped container/ },
    keeps: 'stopped',
  },
  'kill of a stopped container': {
    args: (i) => ['kill', i.stopped],
    status: 1,
    gist: /container not running/,
    wording: { carton: /container not running/, runc: /container not running/ },
    keeps: 'stopped',
  },
  'kill KILL of a stopped container': {
    args: (i) => ['kill', i.stopped, 'KILL'],
    status: 1,
    gist: /container not running/,
    wording: { carton: /container not running/, runc: /container not running/ },
    keeps: 'stopped',
  },
  'kill --all of a container that does not exist': {
    args: () => ['kill', '--all', 'carton-test-no-such-container', 'KILL'],
    status: 1,
    gist: /container does not exist/,
    wording: { carton: /container does not exist/, runc: /container does not exist/ },
  },
  'kill with an unknown signal': {
    args: (i) => ['kill', i.running, 'NOPE'],
    status: 1,
    // runc's logrus line escapes the quotes: msg="unknown signal \"NOPE\"".
    gist: /unknown signal \\?"NOPE\\?"/,
    wording: { carton: /: unknown signal "NOPE"$/m, runc: /msg="unknown signal \\"NOPE\\""/ },
    keeps: 'running',
  },
  'delete of a running container without --force': {
    args: (i) => ['delete', i.running],
    status: 1,
    gist: /cannot delete container \S+ that is not stopped: running/,
    wording: { carton: /cannot delete container \S+ that is not stopped: running/, runc: /cannot delete container \S+ that is not stopped: running/ },
    keeps: 'running',
  },
  'delete of a container that does not exist': {
    args: () => ['delete', 'carton-test-no-such-container'],
    status: 1,
    gist: /container does not exist/,
    wording: { carton: /container does not exist/, runc: /container does not exist/ },
  },
  'events --stats of a stopped container': {
    args: (i) => ['events', '--stats', i.stopped],
    status: 1,
    gist: /not running/,
    wording: { carton: /container not running/, runc: /container with id \S+ is not running/ },
    keeps: 'stopped',
  },
};

describe('commands in the wrong state: exit status and wording, carton-runtime vs runc', () => {
  for (const [name, c] of Object.entries(CASES)) {
    test(name, () => {
      for (const rt of runtimes) {
        const before = c.keeps ? lab.state(rt, ids[rt][c.keeps]) : undefined;
        const r = lab.run(rt, c.args(ids[rt]));
        assert.equal(r.status, c.status, `${rt}: exit status (${r.stderr.trim()})`);
        assert.match(r.stderr, c.gist, `${rt}: gist`);
        assert.match(r.stderr, c.wording[rt], `${rt}: wording`);
        if (c.keeps) assert.deepEqual(lab.state(rt, ids[rt][c.keeps]), before, `${rt}: the refused command changed the ${c.keeps} container`);
      }
    });
  }

  test('update and resume of a container that does not exist', () => {
    for (const rt of runtimes) {
      for (const args of [['update', '--memory', '64m', 'carton-test-no-such'], ['resume', 'carton-test-no-such'], ['pause', 'carton-test-no-such']]) {
        const r = lab.run(rt, args);
        assert.equal(r.status, 1, `${rt} ${args[0]}`);
        assert.match(r.stderr, /container does not exist/, `${rt} ${args[0]}`);
      }
    }
  });

  test('kill --all of a stopped container succeeds (runc: "no error is returned if the container is stopped")', () => {
    for (const rt of runtimes) {
      for (const sig of [[], ['KILL']]) {
        const r = lab.run(rt, ['kill', '--all', ids[rt].stopped, ...sig]);
        assert.equal(r.status, 0, `${rt} kill --all ${sig.join(' ')}: ${r.stderr}`);
        assert.equal(lab.state(rt, ids[rt].stopped).status, 'stopped');
      }
    }
  });

  test('pause of a created container freezes it (state "paused"), resume brings it back to "created"', () => {
    for (const rt of runtimes) {
      const id = ids[rt].created;
      assert.equal(lab.run(rt, ['pause', id]).status, 0, rt);
      try {
        assert.equal(lab.state(rt, id).status, 'paused', rt);
        const r = lab.run(rt, ['resume', id]);
        assert.equal(r.status, 0, `${rt}: ${r.stderr}`);
        assert.equal(lab.state(rt, id).status, 'created', rt);
      } finally {
        lab.run(rt, ['resume', id]);
      }
    }
  });

  test('the leak checker sees a live container, and nothing once each is deleted', () => {
    for (const rt of runtimes) {
      for (const role of ['running', 'created', 'stopped'] as Role[]) {
        const traces = { root: lab.roots[rt], id: ids[rt][role], bundle: bundles[rt][role] };
        if (role !== 'stopped') assert.notDeepEqual(leaksOf(traces), [], `${rt} ${role}: a live container must show up`);
        const r = lab.run(rt, ['delete', '--force', ids[rt][role]]);
        assert.equal(r.status, 0, `${rt} delete ${role}: ${r.stderr}`);
        assert.deepEqual(lab.leaks(rt, ids[rt][role], bundles[rt][role]), [], `${rt} ${role}`);
      }
    }
  });
});
