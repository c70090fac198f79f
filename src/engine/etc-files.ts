/**
 * /etc/hostname, /etc/hosts and /etc/resolv.conf for a container, generated on the host
 * and bind-mounted in (as Docker does), so an image's own copies are never modified.
 */

export function hostnameFile(hostname: string): string {
  return `${hostname}\n`;
}

/** Docker's hosts file for a private network namespace; the host's copy for --network host. */
export function hostsFile(network: 'none' | 'host' | 'default', hostHosts: string, extra: { ip: string; hostname: string }[] = []): string {
  if (network === 'host') return hostHosts;
  const lines = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
  ];
  for (const e of extra) lines.push(`${e.ip}\t${e.hostname}`);
  return lines.join('\n') + '\n';
}

/**
 * The host's resolv.conf, minus loopback name servers a private network namespace cannot
 * reach (falling back to public resolvers when none remain, as Docker does); unchanged
 * for --network host.
 */
export function resolvConfFile(network: 'none' | 'host' | 'default', hostResolv: string): string {
  if (network === 'host') return hostResolv;
  const lines = hostResolv.split('\n');
  const kept = lines.filter((l) => !/^\s*nameserver\s+(127\.\S*|::1|0:0:0:0:0:0:0:1)\s*$/.test(l));
  const hasServer = kept.some((l) => /^\s*nameserver\s+/.test(l));
  let text = kept.join('\n').replace(/\n+$/, '');
  if (!hasServer) text += (text ? '\n' : '') + 'nameserver 8.8.8.8\nnameserver 8.8.4.4';
  return text + '\n';
}
