#!/usr/bin/env bash
# Builds a tiny root filesystem from Debian's busybox-static (no network needed)
# and prints its path. Used by the README's first command.
set -euo pipefail
dir=${1:-/var/tmp/carton-busybox/rootfs}
if [ ! -x "$dir/bin/busybox" ]; then
  mkdir -p "$dir"/{bin,etc,proc,sys,dev,tmp,root}
  chmod 1777 "$dir/tmp"
  cp /bin/busybox "$dir/bin/busybox"
  for applet in $("$dir/bin/busybox" --list); do
    [ -e "$dir/bin/$applet" ] || ln -s busybox "$dir/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$dir/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$dir/etc/group"
fi
echo "$dir"
