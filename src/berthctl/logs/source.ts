// Where a container's output is read back from: the journal (LogDriver "journald", through
// journalctl) or the CRI-format file at LogPath (LogDriver "file"). "none" keeps nothing.

import { spawn } from "node:child_process";
import { open } from "node:fs/promises";
import type { Properties } from "../api/client.js";
import { ClientError } from "../cli/errors.js";
import { CriParser, type LogLine } from "./cri.js";

export function logDriver(props: Properties): string {
  return String(props.LogDriver ?? "");
}

export function journalctlArgs(id: string, lines: number | undefined, follow: boolean): string[] {
  const args = [`CONTAINER_ID=${id}`, "-o", "cat", "--no-pager"];
  if (lines !== undefined) args.push("-n", String(lines));
  if (follow) args.push("-f");
  return args;
}

/** Reads a log file from `offset`; returns the lines completed and the new offset. */
export async function readLogFile(
  path: string,
  offset: number,
  parser: CriParser,
): Promise<{ lines: LogLine[]; offset: number }> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "r");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { lines: [], offset };
    throw new ClientError(`cannot read the log file ${path}: ${(error as Error).message}`);
  }
  try {
    const lines: LogLine[] = [];
    const buffer = Buffer.alloc(1 << 16);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
      lines.push(...parser.push(buffer.subarray(0, bytesRead).toString("utf8")));
    }
    return { lines, offset };
  } finally {
    await handle.close();
  }
}

/** The first window read back from the end of a log file for its last lines; grows 4x until enough. */
const TAIL_WINDOW = 64 * 1024;

/**
 * The last `n` lines of a log file without reading all of it; `parser` and `offset` continue from the
 * end (logs -f). A window that starts mid-file may cut the first line: it is never among those returned.
 */
export async function readLogTail(
  path: string,
  n: number,
): Promise<{ lines: LogLine[]; offset: number; parser: CriParser }> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT")
      return { lines: [], offset: 0, parser: new CriParser() };
    throw new ClientError(`cannot read the log file ${path}: ${(error as Error).message}`);
  }
  try {
    const { size } = await handle.stat();
    for (let window = TAIL_WINDOW; ; window *= 4) {
      const start = Math.max(0, size - window);
      const buffer = Buffer.alloc(size - start);
      let got = 0;
      while (got < buffer.length) {
        const { bytesRead } = await handle.read(buffer, got, buffer.length - got, start + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      let text = buffer.subarray(0, got).toString("utf8");
      if (start > 0) text = text.slice(text.indexOf("\n") + 1); // the first record is cut
      const parser = new CriParser();
      const lines = parser.push(text);
      if (lines.length > n || start === 0)
        return { lines: lines.slice(Math.max(0, lines.length - n)), offset: start + got, parser };
    }
  } finally {
    await handle.close();
  }
}

/** The last `n` lines from the journal (text only: journalctl -o cat merges the streams). */
export function journalLastLines(id: string, n: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn("journalctl", journalctlArgs(id, n, false), { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      err += c.toString();
    });
    child.on("error", (error) => reject(new ClientError(`cannot run journalctl: ${error.message}`)));
    child.on("close", (code) => {
      if (code === 0) resolve(out.split("\n").filter((l, i, all) => l !== "" || i < all.length - 1));
      else reject(new ClientError(`journalctl failed: ${err.trim().split("\n")[0] ?? `exit ${code}`}`));
    });
  });
}

/** The last `n` lines of the container's output, whichever driver keeps it; [] for "none". */
export async function lastLines(props: Properties, n: number): Promise<string[]> {
  const driver = logDriver(props);
  if (driver === "journald") return journalLastLines(String(props.Id), n);
  if (driver === "file") return (await readLogTail(String(props.LogPath), n)).lines.map((l) => l.text);
  return [];
}
