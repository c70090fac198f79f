#!/usr/bin/env bash
# Lists what Carton's tests may have left behind: mounts, cgroups, network links and
# processes that mention carton. Exit 1 when anything is found.
#   leaks.sh                 report everything found
#   leaks.sh --save FILE     record what exists now (before a test run), report nothing
#   leaks.sh --since FILE    report only what was not there when FILE was saved
mode=${1:-}; baseline=${2:-}

list() {
  grep -E 'carton' /proc/self/mountinfo | awk '{print "mount " $5}'
  find /sys/fs/cgroup -mindepth 1 -maxdepth 4 -type d -iname '*carton*' 2>/dev/null | sed 's/^/cgroup /'
  ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | grep -i carton | sed 's/^/link /'
  # Our own ancestors (the test run, CI) may mention carton in their paths: not leaks.
  local ancestors=" " pid=$$
  while [ "$pid" -gt 1 ] 2>/dev/null; do ancestors+="$pid "; pid=$(awk '{print $4}' /proc/$pid/stat 2>/dev/null || echo 1); done
  ps -eo pid=,args= | sed 's/^ *//' | grep -iE 'carton' | grep -vE 'grep|leaks.sh|leaks-before' | while read -r p; do
    case "$ancestors" in *" ${p%% *} "*) continue ;; esac
    echo "process $p"
  done
}

case "$mode" in
  --save) list | sort > "$baseline"; exit 0 ;;
  --since)
    found=$(list | sort | comm -13 "$baseline" -)
    before=$(grep -c . "$baseline" || true)
    [ "$before" -gt 0 ] && echo "leak check: $before item(s) were already there before the tests (not counted)"
    ;;
  *) found=$(list) ;;
esac
if [ -n "$found" ]; then
  echo "$found" | sed 's/^/leak: /'
  exit 1
fi
echo "no leaks"
