/**
 * The runtime's view of the modules it drives (native init driver, planner,
 * cgroups, seccomp, default spec), loaded lazily: each command pulls in only
 * what it uses, which keeps `carton-runtime state`/`kill` start-up small.
 *
 * The interfaces here are the runtime's expectations, so a change in a
 * neighbour's signature shows up in one place.
 */
import type { Op } from '../plan/ops';
import type { CgroupView, ExecPlanContext, PlanContext } from '../plan/inputs';
import type { LinuxResources, LinuxSeccomp, Process, Spec } from '../oci/spec';

export interface InitHandle {
  initPid: number;
  containerPid: number | Promise<number>;
  ready: Promise<unknown>;
  /** Raw wait status (FORK WAIT) or the init's own exit. */
  exit: Promise<unknown>;
  kill(signal?: NodeJS.Signals | number): void;
}

export interface StartInitOptions {
  ops: Op[];
  preserveFds: number;
  stdio?: unknown[];
  beforePlan?: (initPid: number) => void | Promise<void>;
  onSync?: (tag: string, opIndex: number) => void | string | Promise<string | void>;
}

export interface CgroupManager {
  paths: Record<string, string>;
  create(): void | Promise<void>;
  addProcess(pid: number): void | Promise<void>;
  update(resources: LinuxResources): void | Promise<void>;
  freeze(): void | Promise<void>;
  thaw(): void | Promise<void>;
  pids(): number[] | Promise<number[]>;
  stats(): unknown;
  oomKilled?(): boolean | Promise<boolean>;
  destroy(): void | Promise<void>;
  view?: CgroupView | (() => CgroupView);
  cgroupView?: CgroupView | (() => CgroupView);
}

export interface CompiledSeccomp {
  program: Uint8Array;
  flags: number;
  needsListener: boolean;
}

/* eslint-disable @typescript-eslint/no-var-requires */
type AnyModule = Record<string, unknown>;
const load = (name: string): AnyModule => {
  switch (name) {
    case 'init-driver':
      return require('../native/init-driver') as AnyModule;
    case 'addon':
      return require('../native/addon') as AnyModule;
    case 'plan':
      return require('../plan/index') as AnyModule;
    case 'validate':
      return require('../oci/validate') as AnyModule;
    case 'default-spec':
      return require('../oci/default-spec') as AnyModule;
    case 'cgroups':
      return require('../cgroups/index') as AnyModule;
    case 'seccomp':
      return require('../seccomp/index') as AnyModule;
    default:
      throw new Error(`unknown module ${name}`);
  }
};

function fn<T>(mod: string, name: string): T {
  const m = load(mod);
  const f = m[name];
  if (typeof f !== 'function') throw new Error(`${mod}: ${name} is not available yet`);
  return f as T;
}

export const startInit = (opts: StartInitOptions): InitHandle | Promise<InitHandle> =>
  fn<(o: StartInitOptions) => InitHandle | Promise<InitHandle>>('init-driver', 'startInit')(opts);

export const validateSpec = (spec: unknown): void => {
  fn<(s: unknown) => unknown>('validate', 'validateSpec')(spec);
};

export const buildCreatePlan = (spec: Spec, ctx: PlanContext, extras: object): Op[] =>
  fn<(s: Spec, c: PlanContext, e: object) => Op[]>('plan', 'buildCreatePlan')(spec, ctx, extras);

export const buildExecPlan = (proc: Process, ctx: ExecPlanContext, spec: Spec, extras: object): Op[] =>
  fn<(p: Process, c: ExecPlanContext, s: Spec, e: object) => Op[]>('plan', 'buildExecPlan')(proc, ctx, spec, extras);

export const openCgroups = (opts: {
  id: string;
  cgroupsPath?: string;
  systemd: boolean;
  resources?: LinuxResources;
}): CgroupManager => fn<(o: object) => CgroupManager>('cgroups', 'openCgroups')(opts);

export const cgroupsFromState = (paths: Record<string, string>): CgroupManager =>
  fn<(p: Record<string, string>) => CgroupManager>('cgroups', 'cgroupsFromState')(paths);

export const compileSeccomp = (s: LinuxSeccomp): CompiledSeccomp =>
  fn<(s: LinuxSeccomp) => CompiledSeccomp>('seccomp', 'compileSeccomp')(s);

export function defaultSpec(rootless: boolean): Spec {
  const m = load('default-spec');
  for (const name of ['defaultSpec', 'defaultRuntimeSpec', 'makeDefaultSpec']) {
    if (typeof m[name] === 'function') return (m[name] as (o: unknown) => Spec)(rootless ? { rootless: true } : {});
  }
  throw new Error('default-spec: no default spec builder exported');
}

export function addon(): AnyModule {
  const m = load('addon');
  return typeof m.loadAddon === 'function' ? (m.loadAddon as () => AnyModule)() : m;
}

export function cgroupViewOf(cg: CgroupManager): CgroupView {
  const v = cg.view ?? cg.cgroupView;
  if (typeof v === 'function') return v.call(cg);
  if (v) return v;
  return { kind: 'v1', mounts: [], links: [] };
}
