// The OCI runtimes tests drive (real runc and crun), and running their commands against a test's own
// --root so parallel tests never share runtime state.

import { execFile } from "node:child_process";
import { existsSync } from "node:fs";

export interface Runtime {
  /** Short name: "runc" or "crun". */
  readonly name: string;
  /** Absolute path of the binary. */
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

/** True on a pure cgroup v2 host (unified hierarchy at /sys/fs/cgroup). */
export function cgroupV2Only(): boolean {
  return existsSync("/sys/fs/cgroup/cgroup.controllers");
}

export function runc(): Runtime {
  return { name: "runc", path: findBinary("runc"), globalArgs: [] };
}

/**
 * crun 1.8.1 cannot use its cgroupfs manager on a hybrid v1/v2 host like the test machine, so there it
 * runs with cgroups disabled; on a pure v2 host its default manager works.
 */
export function crun(): Runtime {
  return {
    name: "crun",
    path: findBinary("crun"),
    globalArgs: cgroupV2Only() ? [] : ["--cgroup-manager=disabled"],
  };
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
