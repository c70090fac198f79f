/**
 * The runtime as a library, for the engine (`carton run`) to call in-process
 * instead of spawning carton-runtime. Every function takes `root` (state dir,
 * default /run/carton-runtime) and throws CartonError on failure.
 *
 *   createContainer(opts: CreateOptions): Promise<CreateResult>
 *       opts: { root?, id, bundle?, pidFile?, consoleSocket?, preserveFds?, noPivot?,
 *               noNewKeyring?, mode?: 'create' | 'run', stdio?, warn? }
 *       mode 'create' (default) leaves the container waiting for startContainer.
 *   startContainer(root: string | undefined, id: string, warn?): Promise<void>
 *   runContainer(opts: RunOptions): Promise<number>
 *       opts: CreateOptions minus mode, plus { detach?, keep? }. Foreground: resolves
 *       with the container's exit code (128+signal when killed) after deleting it
 *       (unless keep). detach: create + start, resolves 0.
 *   execInContainer(opts: ExecOptions): Promise<number>
 *       opts: { root?, id, processFile? | args?, detach?, pidFile?, consoleSocket?, tty?,
 *               cwd?, env?, user?: 'uid[:gid]', additionalGids?, preserveFds?, stdio? }
 *   killContainer(root, id, signal: number, { all? }): Promise<void>
 *   deleteContainer(root, id, { force?, warn? }): Promise<void>
 *   containerState(root, id): runtime-spec state JSON (ociVersion, id, status, pid, bundle,
 *       rootfs, created, annotations, owner)
 *   listContainers(root): the same objects for every container
 *   containerPids(root, id): Promise<number[]>  (host pids in the container's cgroup)
 *   pauseContainer / resumeContainer(root, id), updateContainer(root, id, resources),
 *   containerStats(root, id)
 *   parseSignal('TERM' | 'SIGTERM' | '15'): number
 */
export { createContainer } from './create';
export type { CreateOptions, CreateResult } from './create';
export { runContainer } from './run';
export type { RunOptions } from './run';
export { execInContainer } from './exec';
export type { ExecOptions } from './exec';
export { startContainer, killContainer, deleteContainer, containerState, listContainers } from './lifecycle';
export { containerPids } from './ps';
export { pauseContainer, resumeContainer, updateContainer, containerStats } from './control';
export { parseSignal } from './signals';
export { DEFAULT_ROOT } from './store';
