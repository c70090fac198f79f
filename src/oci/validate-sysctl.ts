/**
 * Which sysctls a container may set: only those isolated by a namespace the
 * config gives the container (the rule runc applies), so a config can never
 * change the host's kernel settings.
 */
import { fail, isObj, type Obj } from './validate-util';

const IPC_SYSCTLS = new Set([
  'kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem',
  'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced',
]);

/** "net/ipv4/ip_forward" and "net.ipv4.ip_forward" name the same sysctl. */
export function sysctlDotted(name: string): string {
  return name.includes('/') ? name.replace(/\//g, '.') : name;
}

/** The /proc/sys path of a sysctl ("net.ipv4.ip_forward" → /proc/sys/net/ipv4/ip_forward). */
export function sysctlPath(name: string): string {
  return '/proc/sys/' + (name.includes('/') ? name.replace(/^\/+/, '') : name.replace(/\./g, '/'));
}

export function checkSysctls(linux: Obj, namespaces: Map<string, unknown>): void {
  const sysctl = linux.sysctl;
  if (sysctl === undefined || sysctl === null) return;
  if (!isObj(sysctl)) fail('linux.sysctl', 'must be an object');
  for (const [name, value] of Object.entries(sysctl)) {
    const f = `linux.sysctl[${JSON.stringify(name)}]`;
    if (typeof value !== 'string') fail(f, 'must be a string');
    const dotted = sysctlDotted(name);
    if (dotted === '' || dotted.split('.').some((part) => part === '' || part === '..')) fail(f, 'not a sysctl name');
    if (IPC_SYSCTLS.has(dotted) || dotted.startsWith('fs.mqueue.')) {
      if (!namespaces.has('ipc')) fail(f, 'not allowed in the host\'s ipc namespace (add {"type": "ipc"} to linux.namespaces)');
      continue;
    }
    if (dotted.startsWith('net.')) {
      if (!namespaces.has('network')) fail(f, 'not allowed in the host\'s network namespace (add {"type": "network"} to linux.namespaces)');
      continue;
    }
    if (dotted === 'kernel.hostname') {
      if (!namespaces.has('uts')) fail(f, 'not allowed in the host\'s uts namespace (add {"type": "uts"} to linux.namespaces)');
      fail(f, 'conflicts with the "hostname" field; set the hostname there');
    }
    if (dotted === 'kernel.domainname') {
      if (!namespaces.has('uts')) fail(f, 'not allowed in the host\'s uts namespace (add {"type": "uts"} to linux.namespaces)');
      continue;
    }
    fail(f, 'not isolated by any namespace: a container may not change it');
  }
}
