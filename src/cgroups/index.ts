/** The cgroups module: v1, v2 and hybrid hosts behind one interface. */
export { hostLayout, parseCgroupLayout, UNIFIED } from './detect';
export type { CgroupKind, CgroupLayout, Hierarchy } from './detect';
export { resolveCgroupPaths, cleanCgroupPath } from './path';
export type { CgroupPathOptions } from './path';
export { planResources, sharesToWeight, v2Swap } from './resources';
export type { PlanOptions } from './resources';
export type { CgroupWrite, ControllerPlacement, DeviceProgram, ResourceNote, ResourcePlan } from './writes';
export { containerDeviceRules, emulateRules, stateAllows } from './devices';
export { compileDeviceProgram } from './devices-bpf';
export { cgroupView } from './view';
export { openCgroups, cgroupsFromState } from './manager';
export type { CgroupManager, FreezerState, OpenCgroupsOptions } from './manager';
export { canLoadDevicePrograms } from './apply';
export type { CgroupStats } from './stats';
