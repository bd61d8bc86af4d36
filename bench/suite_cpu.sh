#!/usr/bin/env bash
# The CPU time (user + sys) and wall time of one run of the test suite, or of a tier of it, counted over every
# process the run starts (xdist workers, kustomize, promtool, ...). Run it as root on an otherwise idle machine: it
# counts through a cgroup of its own (cgroup v1 cpuacct or v2), which, unlike `time`, also sees the processes that
# their parents never wait for. Without a writable cgroup it falls back to `time`, and says so.
#
#   bench/suite_cpu.sh                 the whole suite, as `make test` runs it (lint apart)
#   bench/suite_cpu.sh -m fast         the fast tier
#   SUITE_LOG=FILE bench/suite_cpu.sh  keeps pytest's output in FILE
set -euo pipefail
cd "$(dirname "$0")/.."
run=(.venv/bin/python -m pytest -n auto -p no:randomly "$@")
group="imaas-suite-$$"
started=$(date +%s.%N)
if [[ -w /sys/fs/cgroup/cpuacct ]]; then
  dir="/sys/fs/cgroup/cpuacct/$group"
  mkdir "$dir"
  status=0
  (echo "$BASHPID" >"$dir/tasks" && exec "${run[@]}") >"${SUITE_LOG:-/dev/null}" 2>&1 || status=$?
  read -r user_ticks sys_ticks < <(awk '{print $2}' "$dir/cpuacct.stat" | paste -sd' ')
  ticks=$(getconf CLK_TCK)
  user=$(awk -v t="$user_ticks" -v hz="$ticks" 'BEGIN {printf "%.1f", t / hz}')
  sys=$(awk -v t="$sys_ticks" -v hz="$ticks" 'BEGIN {printf "%.1f", t / hz}')
  rmdir "$dir"
elif [[ -w /sys/fs/cgroup/cgroup.subtree_control || -w /sys/fs/cgroup/unified/cgroup.procs ]]; then
  root=$([[ -d /sys/fs/cgroup/unified ]] && echo /sys/fs/cgroup/unified || echo /sys/fs/cgroup)
  dir="$root/$group"
  mkdir "$dir"
  status=0
  (echo "$BASHPID" >"$dir/cgroup.procs" && exec "${run[@]}") >"${SUITE_LOG:-/dev/null}" 2>&1 || status=$?
  user=$(awk '/^user_usec/ {printf "%.1f", $2 / 1e6}' "$dir/cpu.stat")
  sys=$(awk '/^system_usec/ {printf "%.1f", $2 / 1e6}' "$dir/cpu.stat")
  rmdir "$dir"
else
  echo "no writable cgroup: counting with time, which misses processes nobody waits for" >&2
  status=0
  times=$( { /usr/bin/time -f '%U %S' "${run[@]}" >"${SUITE_LOG:-/dev/null}"; } 2>&1 | tail -1) || status=$?
  read -r user sys <<<"$times"
fi
awk -v args="$*" -v status="$status" -v user="$user" -v sys="$sys" -v start="$started" -v now="$(date +%s.%N)" \
  'BEGIN {printf "pytest %s: exit %s, user %.1f s, sys %.1f s, CPU %.1f s, wall %.1f s\n", args, status, user, sys, user + sys, now - start}'
exit "$status"
