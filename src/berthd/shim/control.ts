// control.fifo: one-line commands to the shim (docs/shim.md): `resize <columns> <rows>`, `closestdin`.

import { closeSync, constants, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { InvalidStateError } from "../../common/errors.js";
import { FILES } from "../state/layout.js";

export function sendControl(stateDir: string, command: string): void {
  let fd: number;
  try {
    fd = openSync(join(stateDir, FILES.control), constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENXIO" || code === "ENOENT") throw new InvalidStateError("the process's shim is gone");
    throw error;
  }
  try {
    writeSync(fd, `${command}\n`);
  } finally {
    closeSync(fd);
  }
}
