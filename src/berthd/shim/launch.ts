// Runs berth-shim (docs/shim.md "Command line") and waits for its first process: exit 0 means the
// runtime's create (or exec; with `start`, create and start) succeeded and the long-lived shim, no
// child of ours, now owns the process. Exit 1 carries the runtime's own error on stderr; the shim
// has removed what it made.

import { join } from "node:path";
import { RuntimeFailedError } from "../../common/errors.js";
import type { LogDriver, Micros } from "../../common/types.js";
import type { RuntimeClient } from "../runtime/client.js";
import { readPidFile } from "../state/atomic.js";
import { FILES } from "../state/layout.js";
import { readStartedAt } from "../state/started.js";

/** How long the runtime's create may take inside the shim before berthd gives up waiting. */
export const SHIM_CREATE_TIMEOUT_MS = 60_000;
const MAX_STDERR = 64 << 10;

export interface ShimRequest {
  shimPath: string;
  id: string;
  stateDir: string;
  runtime: RuntimeClient;
  /** Create mode: the bundle the runtime runs. */
  bundle?: string;
  /** Create mode: the shim runs the runtime's start too (RunContainer), so berthd forks no runtime. */
  start?: boolean;
  /** Exec mode: the exec id (process.json is already in stateDir). */
  execId?: string;
  terminal: boolean;
  stdin: boolean;
  logDriver: LogDriver;
  logPath?: string;
}

export interface ShimStarted {
  shimPid: number;
  pid: number;
  /** With `start`: when the shim issued the runtime's start (started.json); else 0n. */
  startedAt: Micros;
}

export function shimArgs(request: ShimRequest): string[] {
  const { runtime } = request;
  const args = ["--id", request.id, "--state-dir", request.stateDir];
  args.push("--runtime", runtime.runtime.path, "--runtime-root", runtime.root);
  for (const arg of runtime.globalArgs) args.push(`--runtime-arg=${arg}`);
  if (request.bundle !== undefined) args.push("--bundle", request.bundle);
  if (request.start) args.push("--start");
  if (request.execId !== undefined) args.push("--exec-id", request.execId);
  if (request.terminal) args.push("--terminal");
  if (request.stdin) args.push("--stdin");
  args.push("--log-driver", request.logDriver);
  if (request.logPath !== undefined && request.logPath !== "") args.push("--log-path", request.logPath);
  return args;
}

export async function launchShim(request: ShimRequest): Promise<ShimStarted> {
  // The launcher's environment never has NOTIFY_SOCKET, WATCHDOG_*, LISTEN_*: a runc that sees
  // NOTIFY_SOCKET waits for the container's own READY=1 (docs/systemd.md).
  const options = { stdout: false, timeoutMs: SHIM_CREATE_TIMEOUT_MS, maxOutput: MAX_STDERR };
  const { code, signal, stderr } = await request.runtime.launcher
    .run([request.shimPath, ...shimArgs(request)], options)
    .catch((error: Error) => {
      throw new RuntimeFailedError(`cannot run the shim ${request.shimPath}: ${error.message}`);
    });
  if (code === 0) {
    return {
      shimPid: readPidFile(join(request.stateDir, FILES.shimPid)),
      pid: readPidFile(join(request.stateDir, FILES.initPid)),
      startedAt: request.start ? readStartedAt(request.stateDir) : 0n,
    };
  }
  // The shim's message already names the runtime and the step ("runc create ID: ..."), in the
  // runtime's own words; only a silent failure needs words of ours.
  const said = stderr.trim().replace(/^berth-shim:\s*/gm, "");
  const step = request.execId ? "exec" : "create";
  throw new RuntimeFailedError(
    said || `${request.runtime.name} ${step} failed: the shim exited ${code ?? signal}`,
  );
}
