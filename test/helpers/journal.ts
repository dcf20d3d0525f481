// A stand-in for journald's native socket. journald cannot run on the test machine (PID 1 is not
// systemd; the real one is tested in the systemd sandbox), so tests bind their own unix datagram
// socket, point the shim at it with BERTH_JOURNAL_SOCKET, and parse what arrives. Node has no unix
// datagram sockets, so a few lines of python3 receive and hand each datagram over as base64.

import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { makeTempDir } from "../fixtures/temp.js";

/** One journal entry: its fields (a repeated field keeps its last value). */
export type JournalEntry = Record<string, string>;

/**
 * Parses one datagram of the native journal protocol: `KEY=value\n` for values without a newline,
 * and `KEY\n<64-bit little-endian length><value>\n` for any value.
 */
export function parseJournalDatagram(datagram: Buffer): JournalEntry {
  const entry: JournalEntry = {};
  let at = 0;
  while (at < datagram.length) {
    const newline = datagram.indexOf(0x0a, at);
    if (newline < 0) throw new Error(`journal datagram: field without a newline at byte ${at}`);
    const line = datagram.subarray(at, newline).toString("utf8");
    const equals = line.indexOf("=");
    if (equals >= 0) {
      entry[line.slice(0, equals)] = line.slice(equals + 1);
      at = newline + 1;
      continue;
    }
    const length = datagram.readBigUInt64LE(newline + 1);
    const start = newline + 9;
    const end = start + Number(length);
    if (end >= datagram.length || datagram[end] !== 0x0a) {
      throw new Error(`journal datagram: binary field ${line} overruns the datagram`);
    }
    entry[line] = datagram.subarray(start, end).toString("utf8");
    at = end + 1;
  }
  return entry;
}

// Exits when its stdin closes, so it never outlives the test process.
const RECEIVER = `
import base64, os, select, socket, sys
path = sys.argv[1]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
sock.bind(path)
print("ready", flush=True)
while True:
    ready, _, _ = select.select([sock, sys.stdin], [], [])
    if sys.stdin in ready and not os.read(sys.stdin.fileno(), 4096):
        break
    if sock in ready:
        print(base64.b64encode(sock.recv(1 << 22)).decode(), flush=True)
`;

export interface JournalReceiver {
  /** The datagram socket's path: what BERTH_JOURNAL_SOCKET gets. */
  readonly socketPath: string;
  /** Entries received so far, in order. */
  readonly entries: JournalEntry[];
  /** Resolves with the first entry for which `match` is true; rejects after `timeoutMs`. */
  waitFor(match: (entry: JournalEntry) => boolean, timeoutMs?: number): Promise<JournalEntry>;
  /** Stops the receiver and removes its socket. */
  close(): Promise<void>;
}

/** Binds a datagram socket in a temp dir of its own and collects what arrives. */
export async function startJournalReceiver(): Promise<JournalReceiver> {
  const dir = makeTempDir("journal");
  const socketPath = join(dir.path, "socket");
  const child: ChildProcess = spawn("python3", ["-c", RECEIVER, socketPath], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const exited = new Promise((r) => child.once("exit", r));
  const entries: JournalEntry[] = [];
  const lines = createInterface({ input: child.stdout! });
  await new Promise<void>((resolve, reject) => {
    child.once("error", (error) =>
      reject(
        new Error(`journal stand-in: cannot run python3 (Debian package python3-minimal): ${error.message}`),
      ),
    );
    child.once("exit", (code) => reject(new Error(`journal receiver exited (${code}) before binding`)));
    lines.once("line", (line) => (line === "ready" ? resolve() : reject(new Error(line))));
  });
  lines.on("line", (line) => entries.push(parseJournalDatagram(Buffer.from(line, "base64"))));
  return {
    socketPath,
    entries,
    async waitFor(match, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = entries.find(match);
        if (found) return found;
        if (Date.now() > deadline) {
          throw new Error(`no matching journal entry within ${timeoutMs} ms; got ${JSON.stringify(entries)}`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async close() {
      child.stdin!.end();
      child.kill();
      await exited;
      await dir.remove();
    },
  };
}
