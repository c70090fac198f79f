#!/usr/bin/env bash
# Everything a fresh Debian 12 machine needs to build Carton and run its tests:
# Debian packages (the real peers the tests drive), npm dependencies, the native
# build and the TypeScript build. Safe to run again; skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: runtime peers (runc, crun, podman+conmon, docker.io+containerd),
# image tools (skopeo, docker-registry, apache2-utils for htpasswd, zstd), test
# fixtures (busybox-static, uidmap for rootless), the cgroup v2 VM lane
# (qemu-system-x86, linux-image-amd64) and benchmarks (hyperfine).
PACKAGES=(
  build-essential python3 busybox-static runc crun podman conmon skopeo docker-registry
  apache2-utils zstd uidmap iptables qemu-system-x86 linux-image-amd64 docker.io containerd
  hyperfine openssl bsdutils procps iproute2 xz-utils cpio kmod
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm ci runs node-gyp through npm's own copy (native init + addon, against the
# Node headers npm is configured with) and then the TypeScript build (prepare).
npm ci --no-audit --no-fund
