// org.berth.Supervisor1.Container: one object per container; state comes from the supervisor's events.

import { Variant } from "../../common/bus.js";
import { CONTAINER_INTERFACE, processPath } from "../../common/bus-path.js";
import type { ContainerStats, ExecSpec, KillWhom, StdioFds } from "../../common/types.js";
import type { ContainerTarget } from "./context.js";
import { decodeExecSpec } from "./options.js";
import { type MethodResult, method, property, signal, type Vtable } from "./vtable.js";

const done: MethodResult = { body: [] };

/** OpenStdio's reply: three fds, closed by the transport once sent. */
export function stdioResult(fds: StdioFds): MethodResult {
  const list = [fds.stdin, fds.stdout, fds.stderr];
  return { body: list, fds: list };
}

function statsDict(stats: ContainerStats): Record<string, Variant> {
  const dict: Record<string, Variant> = {
    MemoryCurrent: new Variant("t", stats.memoryCurrent),
    CPUUsageNSec: new Variant("t", stats.cpuUsageNSec),
    Pids: new Variant("t", stats.pids),
  };
  if (stats.memoryLimit !== undefined) dict.MemoryLimit = new Variant("t", stats.memoryLimit);
  if (stats.memoryMaxUsage !== undefined) dict.MemoryMaxUsage = new Variant("t", stats.memoryMaxUsage);
  return dict;
}

export const containerVtable: Vtable<ContainerTarget> = {
  interface: CONTAINER_INTERFACE,
  methods: [
    method("Start", "", "", true, async (c) => {
      await c.api.supervisor.startContainer(c.info.id);
      return done;
    }),
    method("Kill", "s whom, i signal", "", true, async (c, [whom, signalNumber]) => {
      await c.api.supervisor.kill(c.info.id, whom as KillWhom, signalNumber as number);
      return done;
    }),
    method("Pause", "", "", true, async (c) => {
      await c.api.supervisor.pause(c.info.id);
      return done;
    }),
    method("Resume", "", "", true, async (c) => {
      await c.api.supervisor.resume(c.info.id);
      return done;
    }),
    method("Delete", "", "", true, async (c) => {
      await c.api.supervisor.delete(c.info.id);
      return done;
    }),
    method(
      "Exec",
      "s exec_id, a{sv} process",
      "o process",
      true,
      async (c, [execId, spec]) => {
        const info = await c.api.supervisor.exec(c.info.id, execId as string, spec as ExecSpec);
        return { body: [processPath(info.containerId, info.id)] };
      },
      ([execId, spec]) => [execId, decodeExecSpec(spec)],
    ),
    method("Wait", "", "i exit_code", false, async (c) => ({
      body: [await c.api.supervisor.wait(c.info.id)],
    })),
    method("Resize", "u columns, u rows", "", true, async (c, [columns, rows]) => {
      await c.api.supervisor.resize(c.info.id, columns as number, rows as number);
      return done;
    }),
    method("CloseStdin", "", "", true, async (c) => {
      await c.api.supervisor.closeStdin(c.info.id);
      return done;
    }),
    method("OpenStdio", "", "h stdin, h stdout, h stderr", true, async (c) =>
      stdioResult(await c.api.supervisor.openStdio(c.info.id)),
    ),
    method("GetStats", "", "a{sv} stats", false, async (c) => ({
      body: [statsDict(await c.api.supervisor.stats(c.info.id))],
    })),
  ],
  properties: [
    property("Id", "s", "const", (c) => c.info.id),
    property("Bundle", "s", "const", (c) => c.info.bundle),
    property("Runtime", "s", "const", (c) => c.info.runtime),
    property("Labels", "a{ss}", "const", (c) => c.info.labels),
    property("Terminal", "b", "const", (c) => c.info.terminal),
    property("Status", "s", "true", (c) => c.info.status),
    property("Pid", "u", "true", (c) => c.info.pid),
    property("ShimPid", "u", "true", (c) => c.info.shimPid),
    property("Unit", "s", "true", (c) => c.info.unit),
    property("CreatedAt", "t", "const", (c) => c.info.createdAt),
    property("StartedAt", "t", "true", (c) => c.info.startedAt),
    property("ExitedAt", "t", "true", (c) => c.info.exitedAt),
    property("ExitCode", "i", "true", (c) => c.info.exitCode),
    property("OOMKilled", "b", "true", (c) => c.info.oomKilled),
    property("LogDriver", "s", "const", (c) => c.info.logDriver),
    property("LogPath", "s", "const", (c) => c.info.logPath),
  ],
  signals: [signal("Exited", "i exit_code, t exited_at, b oom_killed"), signal("OOM", "")],
};
