#!/bin/bash
# Run a command on a pure cgroup v2 host: a small qemu VM (software emulation) that
# boots Debian's kernel with cgroup_no_v1=all, shares this machine's root read-only
# over 9p, chroots into it and runs the command there. Its output and exit status come
# back; this script exits with that status (124 on timeout, 125 when the VM failed).
#
#   bash scripts/v2vm/run.sh                                 # the cgroup, v2 container, cgroup-join and prestart tests
#   bash scripts/v2vm/run.sh node --test dist/test/cgroups/  # any command, run in $PWD
#   bash scripts/v2vm/run.sh --tap FILE                     # the default lane, TAP report to FILE
#
# Environment: V2VM_TIMEOUT (seconds, default 900), V2VM_MEM (MiB, 1024), V2VM_CPUS (2),
# V2VM_VERBOSE=1 to watch the serial console. The kernel and initramfs are built once
# into /var/tmp/carton-v2vm and rebuilt only when the kernel, busybox or this script change.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=/var/tmp/carton-v2vm
timeout_s=${V2VM_TIMEOUT:-900}
started=$(date +%s)

log() { echo "v2vm: $*" >&2; }

# --tap FILE: run the default lane and also write its TAP report to FILE (for scripts/test.sh).
tap_out=
if [ "${1:-}" = --tap ]; then
  [ $# -eq 2 ] || { log "usage: run.sh --tap FILE (the default lane only)"; exit 2; }
  tap_out=$2
  set --
fi
if [ $# -eq 0 ]; then
  set -- node --test --test-concurrency=1 "$repo/dist/test/cgroups/" "$repo/dist/test/v2/" "$repo/dist/test/runtime/cgroup-join.test.js" "$repo/dist/test/prestart/prestart.test.js"
  if [ -n "$tap_out" ]; then
    set -- node --test --test-concurrency=1 --test-reporter=spec --test-reporter-destination=stdout \
      --test-reporter=tap --test-reporter-destination=/tmp/.v2vm/lane.tap "$repo/dist/test/cgroups/" "$repo/dist/test/v2/" "$repo/dist/test/runtime/cgroup-join.test.js" "$repo/dist/test/prestart/prestart.test.js"
  fi
fi

# --- tools and kernel ---------------------------------------------------------------
need_pkgs=()
command -v qemu-system-x86_64 >/dev/null || need_pkgs+=(qemu-system-x86)
ls /boot/vmlinuz-* >/dev/null 2>&1 || need_pkgs+=(linux-image-amd64)
[ -x /bin/busybox ] || need_pkgs+=(busybox-static)
command -v xz >/dev/null || need_pkgs+=(xz-utils)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "installing ${need_pkgs[*]}"
  # Another apt run may hold the lock (packages are installed while we work): wait for it.
  for try in $(seq 1 60); do
    if DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_pkgs[@]}" >&2; then break; fi
    [ "$try" = 1 ] && apt-get update -q >&2 || true
    sleep 10
  done
fi
kernel=$(ls -1 /boot/vmlinuz-* | sort -V | tail -n 1)
kver=${kernel#/boot/vmlinuz-}
moddir=/lib/modules/$kver
[ -f "$moddir/modules.dep" ] || { log "no $moddir/modules.dep for $kernel"; exit 125; }
bios=/usr/share/qemu/qboot.rom

# --- cached kernel + initramfs ------------------------------------------------------
key=$( { stat -c '%n %s %Y' "$kernel" /bin/busybox "$moddir/modules.dep"; cat "${BASH_SOURCE[0]}"; } | sha256sum | cut -c1-16)
build=$cache/$key
mkdir -p "$cache"
exec 9>"$cache.lock"
flock 9 # one build at a time; runs share the result
if [ ! -f "$build/ready" ]; then
  log "building kernel and initramfs for $kver in $build"
  rm -rf "${cache:?}"/* && mkdir -p "$build"
  # The uncompressed vmlinux boots faster than the bzImage: find the xz stream in it
  # (magic FD 37 7A 58 5A 00) and decompress from there, as extract-vmlinux does.
  off=$( (LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$kernel" || true) | head -n 1 | cut -d: -f1)
  [ -n "$off" ] || { log "no xz stream in $kernel"; exit 125; }
  tail -c +$((off + 1)) "$kernel" | xz -dc 2>/dev/null > "$build/vmlinux" || true
  [ "$(head -c 4 "$build/vmlinux" | od -An -c | tr -d ' ')" = '177ELF' ] || { log "vmlinux extraction failed"; exit 125; }

  root=$build/initramfs
  mkdir -p "$root/bin" "$root/mods" "$root/proc" "$root/sys" "$root/dev" "$root/mnt"
  cp /bin/busybox "$root/bin/busybox"
  # Modules for virtio-pci, 9p, overlay (and loop, for block I/O limits), dependencies first.
  declare -A done_mod=()
  order=()
  add_mod() {
    local rel=$1 dep
    [ -n "${done_mod[$rel]:-}" ] && return
    done_mod[$rel]=1
    for dep in $(grep -E "^$rel:" "$moddir/modules.dep" | cut -d: -f2); do add_mod "$dep"; done
    order+=("$rel")
  }
  for name in virtio_pci 9pnet_virtio 9p overlay loop; do
    rel=$(grep -oE "^[^:]*/$name\.ko(\.xz|\.zst)?:" "$moddir/modules.dep" | head -n 1 | tr -d :) || true
    if [ -z "$rel" ]; then
      grep -qE "/$name\.ko$" "$moddir/modules.builtin" || { log "module $name not found"; exit 125; }
      continue
    fi
    add_mod "$rel"
  done
  : > "$root/mods/order"
  for rel in "${order[@]}"; do
    base=$(basename "$rel")
    case "$rel" in
      *.xz) xz -dc "$moddir/$rel" > "$root/mods/${base%.xz}"; base=${base%.xz} ;;
      *.zst) zstd -qdc "$moddir/$rel" > "$root/mods/${base%.zst}"; base=${base%.zst} ;;
      *) cp "$moddir/$rel" "$root/mods/$base" ;;
    esac
    echo "$base" >> "$root/mods/order"
  done
  cat > "$root/init" <<'INIT'
#!/bin/busybox sh
# PID 1 in the VM: mount the host root (read-only 9p) with fresh proc/sys/dev/tmp and a
# cgroup2-only /sys/fs/cgroup, switch to it and run /tmp/.v2vm/cmd.sh.
B=/bin/busybox
$B mount -t proc proc /proc
$B mount -t devtmpfs dev /dev
for m in $($B cat /mods/order); do $B insmod /mods/$m 2>/dev/null || echo "v2vm: insmod $m failed"; done
R=/mnt
$B mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 hostroot $R || { echo "v2vm: cannot mount the host root"; $B poweroff -f; }
$B mount -t proc proc $R/proc
$B mount -t sysfs sys $R/sys
$B mount -t cgroup2 cgroup2 $R/sys/fs/cgroup
for c in cpu memory pids io cpuset hugetlb; do
  echo "+$c" > $R/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || echo "v2vm: cannot enable $c"
done
$B mount -t devtmpfs dev $R/dev
$B mkdir -p $R/dev/pts $R/dev/shm
$B mount -t devpts -o newinstance,ptmxmode=0666 devpts $R/dev/pts
$B mount -t tmpfs tmpfs $R/dev/shm
for d in tmp run var/tmp; do $B mount -t tmpfs -o mode=1777 tmpfs $R/$d; done
$B mkdir -p $R/tmp/.v2vm
$B mount -t 9p -o trans=virtio,version=9p2000.L results $R/tmp/.v2vm || echo "v2vm: cannot mount results"
# The working directory comes as its own share: it may live under /tmp or /run, which
# the fresh tmpfs mounts above hide (CI clones into such a folder).
W=$($B sed -n 's/.*carton_work=\([^ ]*\).*/\1/p' /proc/cmdline)
if [ -n "$W" ]; then
  $B mkdir -p "$R$W" 2>/dev/null
  $B mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 work "$R$W" || echo "v2vm: cannot mount $W"
fi
# switch_root rather than chroot: the command then runs in a real root, as on a host
# (setns into a container's mount namespace behaves differently from inside a chroot).
# cmd.sh powers the VM off itself when done.
exec $B switch_root $R /bin/bash /tmp/.v2vm/cmd.sh
INIT
  chmod 755 "$root/init"
  cpio=cpio
  command -v cpio >/dev/null || cpio="/bin/busybox cpio"
  [ "$cpio" = cpio ] && cpio="cpio --quiet"
  (cd "$root" && find . | $cpio -o -H newc) > "$build/initramfs.cpio"
  rm -rf "$root"
  touch "$build/ready"
fi

flock -u 9

# --- the run ------------------------------------------------------------------------
run=$(mktemp -d /var/tmp/carton-v2vm-run.XXXXXX)
cleanup() { rm -rf "$run"; }
trap cleanup EXIT
{
  echo 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 TERM=dumb'
  echo "export CARTON_V2VM=1"
  printf 'cd %q || exit 125\n' "$PWD"
  printf '%q ' "$@"
  echo '> /tmp/.v2vm/output 2>&1 < /dev/null'
  echo 'echo $? > /tmp/.v2vm/status'
  echo 'sync; /bin/busybox poweroff -f'
} > "$run/cmd.sh"

serial=file:$run/console.log
[ "${V2VM_VERBOSE:-}" = 1 ] && serial=stdio
log "booting $kver (cgroup v2 only) to run: $*"
set +e
timeout -k 10 "$timeout_s" qemu-system-x86_64 \
  -accel tcg,thread=multi -cpu max -m "${V2VM_MEM:-1024}" -smp "${V2VM_CPUS:-2}" \
  -nodefaults -no-user-config -nographic -monitor none -no-reboot \
  -bios "$bios" -kernel "$cache/$key/vmlinux" -initrd "$cache/$key/initramfs.cpio" \
  -append "console=ttyS0 quiet panic=-1 cgroup_no_v1=all carton_work=$PWD" \
  -serial "$serial" \
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
  -virtfs "local,path=$run,mount_tag=results,security_model=none" \
  -virtfs "local,path=$PWD,mount_tag=work,security_model=none,readonly=on,multidevs=remap" \
  < /dev/null
qemu_status=$?
set -e

[ -f "$run/output" ] && cat "$run/output"
if [ -n "$tap_out" ] && [ -f "$run/lane.tap" ]; then cp "$run/lane.tap" "$tap_out"; fi
elapsed=$(( $(date +%s) - started ))
if [ "$qemu_status" -eq 124 ] || [ "$qemu_status" -eq 137 ]; then
  log "timed out after ${timeout_s}s; console:"; tail -n 40 "$run/console.log" >&2 2>/dev/null || true
  exit 124
fi
if [ ! -s "$run/status" ]; then
  log "the command did not run (qemu exit $qemu_status); console:"; tail -n 40 "$run/console.log" >&2 2>/dev/null || true
  exit 125
fi
status=$(cat "$run/status")
log "exit status $status, ${elapsed}s end to end"
exit "$status"
