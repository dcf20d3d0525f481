#!/bin/bash
# measure.sh [RUNTIME] [RUNS]: berth-shim's cost per container, as issue 2 asks for:
#  - time from starting the shim to its first process exiting 0 ("created"; with --start, "started"),
#    median of RUNS, next to the runtime's own create (and create + start, and run -d, which --start
#    runs) without the shim;
#  - RSS and Private_Dirty (/proc/<pid>/smaps_rollup) of the long-lived shim of a running `sleep`.
# Uses a busybox-static bundle and a runtime root in a temp dir; cleans up after itself.
set -euo pipefail
runtime=${1:-runc}
runs=${2:-20}
here=$(cd "$(dirname "$0")" && pwd)
shim=$here/berth-shim
[ -x "$shim" ] || make -s -C "$here"
work=$(mktemp -d /tmp/berth-shim-measure.XXXXXX)
ids=()
cleanup() {
  for id in "${ids[@]}"; do "$runtime" --root "$work/root" delete -f "$id" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

bundle=$work/bundle
mkdir -p "$bundle/rootfs/bin" "$bundle/rootfs/proc" "$bundle/rootfs/dev" "$bundle/rootfs/sys"
cp /bin/busybox "$bundle/rootfs/bin/busybox"
ln -s busybox "$bundle/rootfs/bin/sleep"
(cd "$bundle" && runc spec)
jq '.process.args=["sleep","1000"] | .process.terminal=false' "$bundle/config.json" >"$bundle/c.json"
mv "$bundle/c.json" "$bundle/config.json"

# crun on a hybrid host needs its cgroup manager off (see docs/shim.md).
globals=()
if [ "$(basename "$runtime")" = crun ] && [ -d /sys/fs/cgroup/unified ]; then
  globals=(--cgroup-manager=disabled)
fi
shim_globals=()
for g in "${globals[@]}"; do shim_globals+=(--runtime-arg "$g"); done

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2))}'; }

# timed NAME COMMAND...: runs COMMAND $runs times, each with a fresh $id and $state (and the bundle's
# cgroup path made unique), and leaves the median, min and max in microseconds in $median $min $max.
timed() {
  local name=$1 times=() i t0 t1
  shift
  for i in $(seq 1 "$runs"); do
    id=measure-$name-$$-$i
    state=$work/state/$id
    mkdir -p "$state"
    ids+=("$id")
    jq --arg cg "/berth-measure-$id" '.linux.cgroupsPath=$cg' "$bundle/config.json" >"$work/config.json"
    cp "$work/config.json" "$bundle/config.json"
    t0=$(date +%s%N)
    "$@"
    t1=$(date +%s%N)
    times+=($(((t1 - t0) / 1000)))
  done
  median=$(printf '%s\n' "${times[@]}" | median)
  min=$(printf '%s\n' "${times[@]}" | sort -n | head -1)
  max=$(printf '%s\n' "${times[@]}" | sort -n | tail -1)
}

shim_run() {
  "$shim" --id "$id" --state-dir "$state" --runtime "$runtime" --runtime-root "$work/root" "${shim_globals[@]}" \
    --bundle "$bundle" "$@"
}
raw_create() {
  "$runtime" "${globals[@]}" --root "$work/root" create --bundle "$bundle" --pid-file "$state/raw.pid" "$id" \
    </dev/null >/dev/null 2>&1
}
raw_create_start() {
  raw_create && "$runtime" "${globals[@]}" --root "$work/root" start "$id"
}
raw_run() {
  "$runtime" "${globals[@]}" --root "$work/root" run --detach --bundle "$bundle" --pid-file "$state/raw.pid" "$id" \
    </dev/null >/dev/null 2>&1
}

timed shim shim_run
created="$median us (min $min, max $max, $runs runs)"
timed started shim_run --start
started="$median us (min $min, max $max, $runs runs)"
# The same without the shim, for comparison.
timed raw raw_create
raw_median=$median
timed raw-start raw_create_start
raw_start_median=$median
timed raw-run raw_run
raw_run_median=$median

# The first shim's container, started now: its shim's memory while it supervises a running process.
id=${ids[0]}
"$runtime" "${globals[@]}" --root "$work/root" start "$id"
sleep 0.5
pid=$(cat "$work/state/$id/shim.pid")
rss=$(awk '/^Rss:/{print $2}' "/proc/$pid/smaps_rollup")
dirty=$(awk '/^Private_Dirty:/{print $2}' "/proc/$pid/smaps_rollup")

printf '%-44s %s\n' "runtime" "$runtime"
printf '%-44s %s\n' "shim start -> created (median)" "$created"
printf '%-44s %s\n' "shim --start -> started (median)" "$started"
printf '%-44s %d us\n' "raw '$runtime create' (median)" "$raw_median"
printf '%-44s %d us\n' "raw '$runtime create' + 'start' (median)" "$raw_start_median"
printf '%-44s %d us\n' "raw '$runtime run -d' (median)" "$raw_run_median"
printf '%-44s %s kB\n' "shim RSS, running sleep container" "$rss"
printf '%-44s %s kB\n' "shim Private_Dirty, running sleep container" "$dirty"
