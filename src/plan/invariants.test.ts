/** Ordering invariants over every combination of the options that change the shape of a plan. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCreatePlan } from './index';
import { CLONE, MountTargetKind, Op, OpCode } from './ops';
import { validateSpec } from '../oci/validate';
import { base, ctx, extras, first, last, all } from './testdata/plan-inputs';

const FLAGS = ['run', 'terminal', 'userns', 'nnp', 'seccomp', 'listener', 'hooks', 'noPivot', 'readonly'] as const;
type Combo = Record<(typeof FLAGS)[number], boolean>;

function combos(): Combo[] {
  const out: Combo[] = [];
  for (let bits = 0; bits < 1 << FLAGS.length; bits++) {
    const c = {} as Combo;
    FLAGS.forEach((f, i) => (c[f] = (bits & (1 << i)) !== 0));
    if (c.listener && !c.seccomp) continue;
    out.push(c);
  }
  return out;
}

function plan(c: Combo): Op[] {
  const spec = base();
  spec.process!.terminal = c.terminal;
  spec.process!.noNewPrivileges = c.nnp;
  spec.root!.readonly = c.readonly;
  spec.mounts![1].options = ['nosuid', 'ro', 'mode=755'];
  if (c.userns) {
    spec.linux!.namespaces!.push({ type: 'user' });
    spec.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    spec.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  }
  if (c.hooks) {
    spec.hooks = { prestart: [{ path: '/h' }], createRuntime: [{ path: '/h' }], createContainer: [{ path: '/h' }], startContainer: [{ path: '/h' }] };
  }
  const seccomp = c.seccomp ? { program: new Uint8Array(16), flags: 0, listenerPath: c.listener ? '/run/agent.sock' : undefined } : undefined;
  return buildCreatePlan(validateSpec(spec), ctx({
    mode: c.run ? 'run' : 'create',
    fifoPath: c.run ? undefined : '/run/carton-runtime/c1/exec.fifo',
    consoleSocket: c.terminal ? '/tmp/console.sock' : undefined,
    noPivot: c.noPivot,
  }), extras({ seccomp }));
}

test('every combination keeps the ordering invariants', () => {
  const list = combos();
  assert.ok(list.length > 300);
  for (const c of list) {
    const ops = plan(c);
    const name = JSON.stringify(c);
    const at = (what: string, cond: boolean) => assert.ok(cond, `${name}: ${what}`);
    const count = (code: OpCode) => all(ops, code).length;

    at('every op names its source', ops.every((o) => o.source.length > 0));
    at('one FORK, one EXEC, last', count(OpCode.FORK) === 1 && count(OpCode.EXEC) === 1 && ops[ops.length - 1].op === OpCode.EXEC);
    at('SETSID right after FORK', ops[first(ops, OpCode.FORK) + 1].op === OpCode.SETSID);
    const nsStart = Math.min(...[OpCode.SETNS, OpCode.UNSHARE].map((code) => first(ops, code)).filter((i) => i >= 0));
    for (const code of [OpCode.CONSOLE_SOCKET, OpCode.OPEN_FIFO, OpCode.SECCOMP_LISTENER_SOCKET]) {
      at(`op ${code} on the host side`, last(ops, code) < nsStart);
    }
    at('oom/host files before namespaces', ops.slice(nsStart).every((o) => o.op !== OpCode.WRITE_FILE || o.path.startsWith('/proc/sys/') || o.path.startsWith('/proc/self/attr')));
    at('namespaces before FORK', last(ops, OpCode.UNSHARE) < first(ops, OpCode.FORK) && last(ops, OpCode.SETNS) < first(ops, OpCode.FORK));
    const ready = first(ops, OpCode.READY);
    at('one READY', count(OpCode.READY) === 1);
    at('no SYNC after READY', last(ops, OpCode.SYNC) < ready);
    at('LOOKUP before READY', last(ops, OpCode.LOOKUP) < ready);
    const wait = first(ops, OpCode.WAIT_START);
    at('WAIT_START only in create, after READY', c.run ? wait === -1 : wait === ready + 1);
    const gate = c.run ? ready : wait;
    const finalUser = last(ops, OpCode.SET_USER);
    for (const i of [finalUser, first(ops, OpCode.CAPS), first(ops, OpCode.NO_NEW_PRIVS), first(ops, OpCode.SECCOMP)]) {
      at('credentials after the start gate', i === -1 || i > gate);
    }
    if (c.seccomp) {
      at('seccomp and no_new_privs in the right order', c.nnp
        ? first(ops, OpCode.SECCOMP) > first(ops, OpCode.NO_NEW_PRIVS)
        : first(ops, OpCode.SECCOMP) < finalUser);
    }
    at('listener SYNC iff listener', (all(ops, OpCode.SYNC).some((s) => s.tag === 'seccomp-listener')) === c.listener);
    if (c.listener) {
      // The init sends the last CONTINUE payload (the agent's state) with the notify fd; in
      // create mode nobody answers after READY, so this SYNC must be the last one before it.
      const syncs = all(ops, OpCode.SYNC);
      at('listener SYNC is the last SYNC, before READY and WAIT_START', syncs[syncs.length - 1].tag === 'seccomp-listener' &&
        ops.indexOf(syncs[syncs.length - 1]) < ready && ready < first(ops, OpCode.SECCOMP));
    }
    const root = c.noPivot ? first(ops, OpCode.MOVE_ROOT) : first(ops, OpCode.PIVOT_ROOT);
    at('one root switch', count(OpCode.PIVOT_ROOT) + count(OpCode.MOVE_ROOT) === 1 && root > 0);
    at('config mounts before the switch', all(ops, OpCode.MOUNT).every((m) => ops.indexOf(m) < root));
    at('device nodes before the switch', all(ops, OpCode.MKNOD).every((n) => n.path === '/dev/console' || ops.indexOf(n) < root));
    at('hook SYNCs before the switch', all(ops, OpCode.SYNC).filter((s) => s.tag.startsWith('create')).every((s) => ops.indexOf(s) < root));
    at('CONSOLE iff terminal, after the switch', c.terminal ? first(ops, OpCode.CONSOLE) > root : first(ops, OpCode.CONSOLE) === -1);
    const roSetattrs = all(ops, OpCode.MOUNT_SETATTR).filter((s) => s.source === 'root.readonly' || s.source === 'mounts[1] (/dev)');
    at('read-only /dev and root after the console', roSetattrs.every((s) => ops.indexOf(s) > Math.max(root, first(ops, OpCode.CONSOLE))));
    at('root.readonly iff asked', all(ops, OpCode.MOUNT_SETATTR).some((s) => s.source === 'root.readonly') === c.readonly);
    if (c.userns) {
      const u = ops.findIndex((o) => o.op === OpCode.UNSHARE && o.flags === CLONE.NEWUSER);
      const maps = ops.findIndex((o) => o.op === OpCode.SYNC && o.tag === 'userns-maps');
      at('maps SYNC after the user namespace, dumpable only around it', maps === u + 2 &&
        ops[u + 1].op === OpCode.SET_DUMPABLE && ops[maps + 1].op === OpCode.SET_DUMPABLE &&
        all(ops, OpCode.SET_DUMPABLE).length === 2 && all(ops, OpCode.SET_DUMPABLE)[1].dumpable === false);
      at('device bind fallbacks', all(ops, OpCode.MKNOD).filter((n) => n.path !== '/dev/console').every((n) => n.bindFallback !== ''));
    }
    at('hooks SYNCs iff hooks', all(ops, OpCode.SYNC).some((s) => s.tag === 'createRuntime') === c.hooks);
    at('startContainer SYNC only in run mode', all(ops, OpCode.SYNC).some((s) => s.tag === 'startContainer') === (c.hooks && c.run));
    at('host targets only for the root set-up', all(ops, OpCode.MOUNT).filter((m) => m.targetKind === MountTargetKind.HOST).every((m) => m.source.startsWith('root.path') || m.source === 'root.path'));
  }
});
