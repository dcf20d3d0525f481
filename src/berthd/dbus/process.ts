// org.berth.Supervisor1.Process: one object per exec'd process, under its container's object.

import { PROCESS_INTERFACE } from "../../common/bus-path.js";
import { stdioResult } from "./container.js";
import type { ProcessTarget } from "./context.js";
import { type MethodResult, method, property, signal, type Vtable } from "./vtable.js";

const done: MethodResult = { body: [] };

export const processVtable: Vtable<ProcessTarget> = {
  interface: PROCESS_INTERFACE,
  methods: [
    method("Kill", "i signal", "", true, async (p, [signalNumber]) => {
      await p.api.supervisor.killProcess(p.info.containerId, p.info.id, signalNumber as number);
      return done;
    }),
    method("Wait", "", "i exit_code", false, async (p) => ({
      body: [await p.api.supervisor.waitProcess(p.info.containerId, p.info.id)],
    })),
    method("Resize", "u columns, u rows", "", true, async (p, [columns, rows]) => {
      await p.api.supervisor.resizeProcess(p.info.containerId, p.info.id, columns as number, rows as number);
      return done;
    }),
    method("CloseStdin", "", "", true, async (p) => {
      await p.api.supervisor.closeStdinProcess(p.info.containerId, p.info.id);
      return done;
    }),
    method("OpenStdio", "", "h stdin, h stdout, h stderr", true, async (p) =>
      stdioResult(await p.api.supervisor.openStdioProcess(p.info.containerId, p.info.id)),
    ),
    method("Delete", "", "", true, async (p) => {
      await p.api.supervisor.deleteProcess(p.info.containerId, p.info.id);
      return done;
    }),
  ],
  properties: [
    property("Id", "s", "const", (p) => p.info.id),
    property("Pid", "u", "true", (p) => p.info.pid),
    property("Status", "s", "true", (p) => p.info.status),
    property("ExitCode", "i", "true", (p) => p.info.exitCode),
    property("ExitedAt", "t", "true", (p) => p.info.exitedAt),
    property("Terminal", "b", "const", (p) => p.info.terminal),
  ],
  signals: [signal("Exited", "i exit_code, t exited_at")],
};
