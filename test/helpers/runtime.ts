// The OCI runtimes tests drive (real runc and crun), and running their commands against a test's own
// --root so parallel tests never share runtime state.

import { execFile } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTempDir } from "../fixtures/temp.js";

export interface Runtime {
  /** Short name: "runc" or "crun". */
  readonly name: string;
  /** Absolute path of the binary (or of a wrapper that execs it, see crun()). */
  readonly path: string;
  /** Global arguments this host needs, placed before the subcommand (the shim's --runtime-arg). */
  readonly globalArgs: readonly string[];
}

function findBinary(name: string): string {
  for (const dir of ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]) {
    if (existsSync(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  throw new Error(`${name} not found (install the Debian package ${name})`);
}

export function runc(): Runtime {
  return { name: "runc", path: findBinary("runc"), globalArgs: [] };
}

const UNIFIED_IN_HYBRID = "/sys/fs/cgroup/unified";
let crunWrapper: string | undefined;

/**
 * crun 1.8.1 refuses every container on a hybrid v1/v2 host whose v2 hierarchy holds any controller
 * ("cgroups in hybrid mode not supported, drop all controllers from cgroupv2"), whatever its cgroup
 * manager; the test machine's v2 hierarchy holds hugetlb. This wrapper runs the real crun in a private
 * mount namespace where that hierarchy is unmounted, so crun sees a v1 host and uses its cgroupfs
 * manager there. It execs crun in place, so the process tree the shim sees is crun's own.
 */
function crunHidingHybridV2(crunPath: string): string {
  if (crunWrapper === undefined) {
    const dir = makeTempDir("crun-wrapper");
    crunWrapper = join(dir.path, "crun");
    const script = `umount -l ${UNIFIED_IN_HYBRID} && exec ${crunPath} "$@"`;
    writeFileSync(
      crunWrapper,
      `#!/bin/sh\n# crun with the hybrid host's v2 hierarchy hidden (see test/helpers/runtime.ts)\n` +
        `exec unshare --mount --propagation private /bin/sh -c '${script}' crun "$@"\n`,
      { mode: 0o755 },
    );
  }
  return crunWrapper;
}

/** True when crun would refuse this host: hybrid mode with a controller in the v2 hierarchy. */
function hybridWithV2Controllers(): boolean {
  try {
    return readFileSync(join(UNIFIED_IN_HYBRID, "cgroup.controllers"), "utf8").trim() !== "";
  } catch {
    return false;
  }
}

export function crun(): Runtime {
  const path = findBinary("crun");
  return { name: "crun", path: hybridWithV2Controllers() ? crunHidingHybridV2(path) : path, globalArgs: [] };
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `<runtime> <globalArgs> --root <root> <args...>`; never throws for a non-zero exit. */
export function runtimeCommand(
  runtime: Runtime,
  root: string,
  args: string[],
  timeoutMs = 30_000,
): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(
      runtime.path,
      [...runtime.globalArgs, "--root", root, ...args],
      { timeout: timeoutMs, encoding: "utf8", maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/**
 * `runtime` whose `run` is followed by `after` (shell; $state is the shim's state dir, found next to
 * the runtime's --log), once the real run has succeeded; the wrapper then exits with `after`'s status.
 * It is named as the runtime, so messages read "runc run ID: ...".
 */
function afterRun(runtime: Runtime, label: string, after: string): Runtime {
  const dir = makeTempDir(label);
  const path = join(dir.path, runtime.name);
  writeFileSync(
    path,
    `#!/bin/sh
# ${runtime.name}, then ${label} after its run (test/helpers/runtime.ts)
prev=
for arg; do
  [ "$prev" = --log ] && state=$(dirname "$arg")
  prev=$arg
done
case " $* " in *" run "*) ;; *) exec ${runtime.path} "$@" ;; esac
${runtime.path} "$@" || exit
${after}
`,
    { mode: 0o755 },
  );
  return { ...runtime, path };
}

/**
 * `runtime` whose run fails after it has created and started the container: what a run that fails
 * late leaves (a running container) must be undone. No bundle makes runc 1.1 or crun fail there: they
 * look the program up before they start it.
 */
export function failsAfterRun(runtime: Runtime): Runtime {
  return afterRun(runtime, "fails-after-run", `echo "refused after the run (test wrapper)" >&2; exit 1`);
}

/** `runtime` whose run returns only once the container's init has exited (a zombie of the shim's). */
export function initExitsBeforeWatch(runtime: Runtime): Runtime {
  return afterRun(
    runtime,
    "exits-before-watch",
    `pid=$(cat "$state/init.pid")
while [ -e "/proc/$pid" ] && ! grep -q "^State:.*Z" "/proc/$pid/status" 2>/dev/null; do sleep 0.01; done`,
  );
}

/**
 * `runtime` whose run returns only once the container's memory cgroup has seen an OOM kill: the kill
 * lands before the shim can register its OOM watch. Gives up (fails the run) after 20 s.
 */
export function oomBeforeWatch(runtime: Runtime): Runtime {
  return afterRun(
    runtime,
    "oom-before-watch",
    `pid=$(cat "$state/init.pid")
cg=$(sed -n 's/^[0-9]*:[a-z,]*memory[a-z,]*:\\(.*\\)/\\1/p' "/proc/$pid/cgroup")
if [ -n "$cg" ]; then file=/sys/fs/cgroup/memory$cg/memory.oom_control
else file=/sys/fs/cgroup$(sed -n 's/^0:://p' "/proc/$pid/cgroup")/memory.events; fi
i=0
until grep -q "^oom_kill [1-9]" "$file"; do
  i=$((i + 1)); [ $i -lt 2000 ] || { echo "no OOM kill in $file" >&2; exit 1; }
  sleep 0.01
done`,
  );
}
