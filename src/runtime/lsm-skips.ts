/**
 * AppArmor / SELinux settings this host cannot apply. Carton skips them (the container
 * runs, as docs/security.md says) but says so, once per field, through the command's
 * warning channel (stderr, and --log as a "warning" line), so a skipped profile is
 * never silent. Pure: the host facts come in as an argument.
 */
import * as fs from 'fs';
import type { Linux, Process } from '../oci/spec';
import { apparmorEnabled } from './host-facts';

export interface LsmHost {
  /** /sys/module/apparmor/parameters/enabled is "Y". */
  apparmor: boolean;
  /** selinuxfs is mounted (/sys/fs/selinux/enforce exists). */
  selinux: boolean;
}

export function lsmHost(): LsmHost {
  return { apparmor: apparmorEnabled(), selinux: fs.existsSync('/sys/fs/selinux/enforce') };
}

/** One warning per label that will not be applied (exec passes its process as `process`). */
export function lsmSkipWarnings(
  cfg: { process?: Pick<Process, 'apparmorProfile' | 'selinuxLabel'>; linux?: Pick<Linux, 'mountLabel'> },
  hostFacts?: LsmHost,
): string[] {
  const out: string[] = [];
  const profile = cfg.process?.apparmorProfile;
  if (!profile && !cfg.process?.selinuxLabel && !cfg.linux?.mountLabel) return out;
  const host = hostFacts ?? lsmHost();
  // With AppArmor enabled the profile is applied at exec (the plan's apparmor op): no warning.
  if (profile && !host.apparmor) {
    out.push(`process.apparmorProfile: AppArmor is not enabled on this host; profile ${JSON.stringify(profile)} not applied`);
  }
  // Carton has no SELinux support: a label is never applied, whatever the host.
  const why = host.selinux ? 'carton-runtime does not support SELinux' : 'SELinux is not enabled on this host';
  const label = cfg.process?.selinuxLabel;
  if (label) out.push(`process.selinuxLabel: ${why}; label ${JSON.stringify(label)} not applied`);
  const mountLabel = cfg.linux?.mountLabel;
  if (mountLabel) out.push(`linux.mountLabel: ${why}; label ${JSON.stringify(mountLabel)} not applied to the container's mounts`);
  return out;
}
