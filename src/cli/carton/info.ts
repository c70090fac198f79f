/** `carton info` (a minimal subset of Docker's) and `carton version`. */
import * as os from 'os';
import { ContainerStore } from '../../engine/containers';
import { CliContext, parseCommand, str } from './context';
import { renderFormat } from '../../engine/format';

export const CARTON_VERSION = '0.1.0';

function cgroupVersion(): string {
  try {
    const mounts = require('fs').readFileSync('/proc/self/mountinfo', 'utf8') as string;
    const hasV1 = / - cgroup /.test(mounts);
    const hasV2 = / - cgroup2 /.test(mounts);
    return hasV1 ? (hasV2 ? '1 (hybrid)' : '1') : '2';
  } catch {
    return 'unknown';
  }
}

export async function infoCommand(argv: string[], ctx: CliContext): Promise<number> {
  const p = parseCommand('info', argv, { usage: 'info [OPTIONS]', description: 'Display system-wide information', flags: [{ name: 'format', short: 'f', type: 'string', value: 'string', help: 'Format output using a Go template' }] }, ctx);
  if (!p) return 0;
  const containers = new ContainerStore(ctx.root).list();
  let images = 0;
  try {
    images = ctx.store().images.list().length;
  } catch {
    images = 0;
  }
  const info = {
    Containers: containers.length,
    ContainersRunning: containers.filter((c) => c.State.Status === 'running').length,
    ContainersPaused: 0,
    ContainersStopped: containers.filter((c) => c.State.Status !== 'running').length,
    Images: images,
    Driver: 'overlay2',
    DockerRootDir: ctx.root,
    CgroupVersion: cgroupVersion(),
    DefaultRuntime: 'carton-runtime',
    KernelVersion: os.release(),
    OperatingSystem: 'Linux',
    OSType: 'linux',
    Architecture: os.arch() === 'x64' ? 'x86_64' : os.arch(),
    NCPU: os.cpus().length,
    MemTotal: os.totalmem(),
    Name: os.hostname(),
    ServerVersion: CARTON_VERSION,
  };
  const format = str(p, 'format');
  if (format !== undefined) {
    ctx.out(renderFormat(format, [info]));
    return 0;
  }
  ctx.out(
    [
      'Server:',
      ` Containers: ${info.Containers}`,
      `  Running: ${info.ContainersRunning}`,
      `  Paused: 0`,
      `  Stopped: ${info.ContainersStopped}`,
      ` Images: ${info.Images}`,
      ` Server Version: ${info.ServerVersion}`,
      ` Storage Driver: overlay2`,
      ` Cgroup Version: ${info.CgroupVersion}`,
      ` Default Runtime: carton-runtime`,
      ` Kernel Version: ${info.KernelVersion}`,
      ` Operating System: ${info.OperatingSystem}`,
      ` OSType: linux`,
      ` Architecture: ${info.Architecture}`,
      ` CPUs: ${info.NCPU}`,
      ` Total Memory: ${(info.MemTotal / 1024 ** 3).toFixed(2)}GiB`,
      ` Name: ${info.Name}`,
      ` Docker Root Dir: ${info.DockerRootDir}`,
      '',
    ].join('\n'),
  );
  return 0;
}

export async function versionCommand(argv: string[], ctx: CliContext): Promise<number> {
  const p = parseCommand('version', argv, { usage: 'version', description: 'Show the Carton version information', flags: [] }, ctx);
  if (!p) return 0;
  ctx.out(`Client:\n Version:           ${CARTON_VERSION}\n Node version:      ${process.version}\n OS/Arch:           linux/${os.arch() === 'x64' ? 'amd64' : os.arch()}\n`);
  return 0;
}
