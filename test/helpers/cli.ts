// Running the standard D-Bus command-line clients (busctl, gdbus) against a test bus, as root or as an
// unprivileged user (setpriv to nobody), for tests that prove the API works with clients we did not write.

import { execFile } from "node:child_process";
import { BUS_NAME } from "../../src/common/bus-path.js";

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command; never rejects on a non-zero exit (the test asserts the code). */
export function runCommand(command: string, args: string[], timeoutMs = 30_000): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { encoding: "utf8", timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== "number") {
        reject(new Error(`${command} ${args.join(" ")}: ${error.message}\n${stderr}`));
        return;
      }
      resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
    });
  });
}

/** The same command as the unprivileged user nobody (uid/gid 65534, no supplementary groups). */
export function asNobody(command: string, args: string[]): [string, string[]] {
  return ["setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", command, ...args]];
}

/** busctl --address=ADDR ARGS… */
export function busctl(address: string, args: string[], nobody = false): Promise<CommandResult> {
  const full = [`--address=${address}`, ...args];
  return nobody ? runCommand(...asNobody("busctl", full)) : runCommand("busctl", full);
}

/** gdbus call --address ADDR --dest org.berth.Supervisor1 --object-path PATH --method IFACE.MEMBER ARGS… */
export function gdbusCall(
  address: string,
  path: string,
  method: string,
  args: string[] = [],
  nobody = false,
): Promise<CommandResult> {
  const full = [
    "call",
    "--address",
    address,
    "--dest",
    BUS_NAME,
    "--object-path",
    path,
    "--method",
    method,
    ...args,
  ];
  return nobody ? runCommand(...asNobody("gdbus", full)) : runCommand("gdbus", full);
}
