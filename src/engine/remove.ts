/**
 * `carton rm`: a container's record, snapshot, bundle, runtime state and (with -v)
 * anonymous volumes go; a running one only with force.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CartonError } from '../common/errors';
import type { Store } from '../storage/store';
import { ContainerStore } from './containers';
import { bundleDir, runtimeRoot } from './run';
import { runtimeApi } from './runtime-client';

const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** `carton rm`: refuse a running container unless forced, then remove everything it owns. */
export async function removeContainer(root: string, runroot: string, query: string, force: boolean, volumes: boolean, store?: () => Store): Promise<string> {
  const containers = new ContainerStore(root);
  const r = containers.find(query);
  if (r.State.Status === 'running') {
    if (!force) {
      throw new CartonError('ESTATE', `Error response from daemon: You cannot remove a running container ${r.Id}. Stop the container before attempting removal or force remove`);
    }
    const api = runtimeApi();
    const rtRoot = runtimeRoot(runroot);
    let pid = 0;
    try {
      pid = api.containerState(rtRoot, r.Id).pid ?? 0;
    } catch {
      /* no runtime state: only the watcher is left */
    }
    await api.killContainer(rtRoot, r.Id, 9).catch(() => undefined);
    if (pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    // The watching `carton run` cleans up mounts and cgroups as the container dies; give it
    // a moment, then make sure nothing of the runtime's is left either way.
    const deadline = Date.now() + 5000;
    while (r.State.MonitorPid && isAlive(r.State.MonitorPid) && Date.now() < deadline) await sleep(50);
  }
  // Also after a crash of the watching `carton run` (status derived as exited), the
  // runtime may still hold state, processes or cgroups for the container.
  const rtRoot = runtimeRoot(runroot);
  if (fs.existsSync(path.join(rtRoot, r.Id))) await runtimeApi().deleteContainer(rtRoot, r.Id, { force: true }).catch(() => undefined);
  if (r.ImageID && store) await store().snapshots.remove(r.Id);
  fs.rmSync(bundleDir(runroot, r.Id), { recursive: true, force: true });
  if (volumes) for (const v of r.AnonymousVolumes) fs.rmSync(v, { recursive: true, force: true });
  containers.remove(r.Id);
  return r.Id;
}
