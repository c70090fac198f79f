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
import type { CreatePlan } from '../plan/index';
import type { LinuxResources, LinuxSeccomp, Process, Spec } from '../oci/spec';

export type { InitHandle } from '../native/init-driver';
import type { InitHandle } from '../native/init-driver';

export type { StartInitOptions, InitStdio } from '../native/init-driver';
import type { StartInitOptions } from '../native/init-driver';

export type { CgroupManager } from '../cgroups/manager';
import type { CgroupManager } from '../cgroups/manager';

export type { CompiledSeccomp } from '../seccomp/index';
import type { CompiledSeccomp } from '../seccomp/index';

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
    case 'seccomp-cache':
      return require('../seccomp/cache') as AnyModule;
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

export const buildCreatePlanWithWarnings = (spec: Spec, ctx: PlanContext, extras: object): CreatePlan =>
  fn<(s: Spec, c: PlanContext, e: object) => CreatePlan>('plan', 'buildCreatePlanWithWarnings')(spec, ctx, extras);

export const buildExecPlan = (proc: Process, ctx: ExecPlanContext, spec: Spec, extras: object): Op[] =>
  fn<(p: Process, c: ExecPlanContext, s: Spec, e: object) => Op[]>('plan', 'buildExecPlan')(proc, ctx, spec, extras);

export const openCgroups = (opts: {
  id: string;
  cgroupsPath?: string;
  systemd: boolean;
  resources?: LinuxResources;
}): CgroupManager => fn<(o: object) => CgroupManager>('cgroups', 'openCgroups')(opts);

export const cgroupsFromState = (paths: Record<string, string>, created?: string[]): CgroupManager =>
  fn<(p: Record<string, string>, c?: string[]) => CgroupManager>('cgroups', 'cgroupsFromState')(paths, created);

/** Compiled once per distinct linux.seccomp, then taken from src/seccomp/cache.ts (~0.7 ms against ~4.5 ms for Docker's profile). */
export const compileSeccomp = (s: LinuxSeccomp): CompiledSeccomp =>
  fn<(s: LinuxSeccomp) => CompiledSeccomp>('seccomp-cache', 'compileSeccompCached')(s);

export function defaultSpec(rootless: boolean): Spec {
  const m = load('default-spec');
  for (const name of ['defaultSpec', 'defaultRuntimeSpec', 'makeDefaultSpec']) {
    if (typeof m[name] === 'function') return (m[name] as (o: unknown) => Spec)(rootless ? { rootless: true } : {});
  }
  throw new Error('default-spec: no default spec builder exported');
}

export function addon(): AnyModule {
  let m: AnyModule;
  try {
    m = load('addon');
  } catch (err) {
    m = loadAddonDirect(err);
  }
  return typeof m.addon === 'function' ? (m.addon as () => AnyModule)() : m;
}

export function cgroupViewOf(cg: CgroupManager): CgroupView {
  const m = load('cgroups');
  const layout = (m.hostLayout as () => unknown)();
  return (m.cgroupView as (l: unknown, p: Record<string, string>) => CgroupView)(layout, cg.paths);
}

/** Until src/native/addon.ts exists: the built addon next to the checkout. */
function loadAddonDirect(original: unknown): AnyModule {
  const path = require('path') as typeof import('path');
  let dir = __dirname;
  for (let i = 0; i < 5; i++) {
    try {
      return require(path.join(dir, 'build', 'Release', 'carton.node')) as AnyModule;
    } catch {
      dir = path.dirname(dir);
    }
  }
  throw original;
}
