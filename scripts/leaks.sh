#!/usr/bin/env bash
# Lists what Carton's tests may have left behind: mounts, cgroups, network links,
# processes, runtime state. Exit 1 when anything is found.
found=0
report() { echo "leak: $1"; found=1; }
while read -r m; do report "mount $m"; done < <(grep -E 'carton' /proc/self/mountinfo | awk '{print $5}')
while read -r c; do report "cgroup $c"; done < <(find /sys/fs/cgroup -mindepth 1 -maxdepth 4 -type d -iname '*carton*' 2>/dev/null)
while read -r l; do report "link $l"; done < <(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | grep -i carton)
# Our own ancestors (the test run, CI) may mention carton in their paths: not leaks.
ancestors=" "; pid=$$
while [ "$pid" -gt 1 ] 2>/dev/null; do ancestors+="$pid "; pid=$(awk '{print $4}' /proc/$pid/stat 2>/dev/null || echo 1); done
while read -r p; do
  case "$ancestors" in *" ${p%% *} "*) continue ;; esac
  report "process $p"
done < <(ps -eo pid=,args= | sed 's/^ *//' | grep -iE 'carton' | grep -vE 'grep|leaks.sh')
[ "$found" = 0 ] && echo "no leaks"
exit $found
