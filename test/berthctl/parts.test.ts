// berthctl's pure parts: the argument parser, signal names, the CRI log reader, event formatting and
// the per-message fd accounting that works around dbus-next's fd bug.

import assert from "node:assert/strict";
import { statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parseArgs } from "../../src/berthctl/cli/args.js";
import { UsageError } from "../../src/berthctl/cli/errors.js";
import { parseSignal } from "../../src/berthctl/cli/signals.js";
import { formatEvent, toEvent } from "../../src/berthctl/commands/events.js";
import { CriParser } from "../../src/berthctl/logs/cri.js";
import { readLogTail } from "../../src/berthctl/logs/source.js";
import { DetachKeys } from "../../src/berthctl/stdio/detach-keys.js";
import { unixFdCount } from "../../src/common/fd-split.js";
import { makeTempDir } from "../fixtures/temp.js";

const OPTIONS = [
  { name: "signal", short: "s", value: "SIG", help: "" },
  { name: "all", short: "a", help: "" },
  { name: "interactive", short: "i", help: "" },
  { name: "tty", short: "t", help: "" },
  { name: "label", short: "l", value: "KV", multiple: true, help: "" },
];

describe("argument parser", () => {
  test("long, short, clustered flags and values in every spelling", () => {
    const args = parseArgs(["-it", "--signal=KILL", "-l", "a=b", "-lc=d", "x", "--all"], {
      options: OPTIONS,
    });
    assert.equal(args.options.get("interactive"), true);
    assert.equal(args.options.get("tty"), true);
    assert.equal(args.options.get("signal"), "KILL");
    assert.equal(args.options.get("all"), true);
    assert.deepEqual(args.options.get("label"), ["a=b", "c=d"]);
    assert.deepEqual(args.positionals, ["x"]);
  });

  test("options stop after the Nth positional, so a command's own flags stay its own", () => {
    const args = parseArgs(["-i", "web", "sh", "-c", "exit 3", "--all"], {
      options: OPTIONS,
      stopAfterPositionals: 1,
    });
    assert.equal(args.options.get("interactive"), true);
    assert.equal(args.options.has("all"), false);
    assert.deepEqual(args.positionals, ["web", "sh", "-c", "exit 3", "--all"]);
  });

  test("-- ends options", () => {
    assert.deepEqual(parseArgs(["--", "-a"], { options: OPTIONS }).positionals, ["-a"]);
  });

  test("unknown options and missing values are usage errors", () => {
    assert.throws(() => parseArgs(["--nope"], { options: OPTIONS }), UsageError);
    assert.throws(() => parseArgs(["-x"], { options: OPTIONS }), UsageError);
    assert.throws(() => parseArgs(["-s"], { options: OPTIONS }), /needs a value/);
    assert.throws(() => parseArgs(["--all=1"], { options: OPTIONS }), /takes no value/);
  });
});

describe("signals", () => {
  test("names with and without SIG, any case, and numbers", () => {
    assert.equal(parseSignal("KILL"), 9);
    assert.equal(parseSignal("SIGTERM"), 15);
    assert.equal(parseSignal("hup"), 1);
    assert.equal(parseSignal("10"), 10);
  });
  test("unknown names and out-of-range numbers are usage errors", () => {
    assert.throws(() => parseSignal("FOO"), UsageError);
    assert.throws(() => parseSignal("0"), UsageError);
    assert.throws(() => parseSignal("65"), UsageError);
  });
});

describe("CRI log reader", () => {
  test("joins partial records per stream and keeps the streams apart", () => {
    const parser = new CriParser();
    const lines = parser.push(
      "2026-01-01T00:00:00.1Z stdout P hel\n" +
        "2026-01-01T00:00:00.2Z stderr F oops\n" +
        "2026-01-01T00:00:00.3Z stdout F lo\n" +
        "2026-01-01T00:00:00.4Z stdout F \n" +
        "2026-01-01T00:00:00.5Z stdout F unfin",
    );
    assert.deepEqual(
      lines.map((l) => [l.stream, l.text]),
      [
        ["stderr", "oops"],
        ["stdout", "hello"],
        ["stdout", ""],
      ],
    );
    // The record cut at the end of a read is completed by the next read.
    assert.deepEqual(
      parser.push("ished\n").map((l) => l.text),
      ["unfinished"],
    );
  });
});

describe("detach keys", () => {
  test("Ctrl-P Ctrl-Q detaches, across chunks too; a lone Ctrl-P passes", () => {
    const keys = new DetachKeys();
    assert.deepEqual(keys.scan(Buffer.from("a\x10b")), { pass: Buffer.from("a\x10b"), detach: false });
    assert.deepEqual(keys.scan(Buffer.from("c\x10")), { pass: Buffer.from("c"), detach: false });
    assert.deepEqual(keys.scan(Buffer.from("d")), { pass: Buffer.from("\x10d"), detach: false });
    assert.deepEqual(keys.scan(Buffer.from("x\x10")), { pass: Buffer.from("x"), detach: false });
    assert.deepEqual(keys.scan(Buffer.from("\x11rest")), { pass: Buffer.from(""), detach: true });
  });
});

describe("log file tail", () => {
  test("the last lines of a file larger than the read window, partial records joined", async (t) => {
    const dir = makeTempDir("log-tail");
    t.after(() => dir.remove());
    const path = join(dir.path, "log");
    const records: string[] = [];
    for (let i = 0; i < 5000; i++)
      records.push(`2026-01-01T00:00:00.000000000Z stdout F line ${i} ${"x".repeat(40)}`);
    records.push("2026-01-01T00:00:01Z stderr P split ", "2026-01-01T00:00:01Z stderr F across records");
    writeFileSync(path, `${records.join("\n")}\n`);
    const { lines, offset } = await readLogTail(path, 3);
    assert.deepEqual(
      lines.map((l) => [l.stream, l.text]),
      [
        ["stdout", `line 4998 ${"x".repeat(40)}`],
        ["stdout", `line 4999 ${"x".repeat(40)}`],
        ["stderr", "split across records"],
      ],
    );
    assert.equal(offset, statSync(path).size);
    assert.equal((await readLogTail(path, 100_000)).lines.length, 5001, "a window grows to the whole file");
    assert.deepEqual((await readLogTail(join(dir.path, "absent"), 3)).lines, []);
  });
});

describe("fd accounting per message", () => {
  test("reads the UNIX_FDS header field of a real marshalled message", () => {
    const require = createRequire(import.meta.url);
    const { marshallMessage } = require("dbus-next/lib/marshall-compat.js");
    const { Message } = require("dbus-next/lib/message-type.js");
    const withFds = new Message({
      type: 2,
      serial: 7,
      replySerial: 3,
      destination: ":1.42",
      signature: "hhh",
      body: [10, 11, 12],
    });
    const [data] = marshallMessage(withFds) as [Buffer];
    assert.equal(unixFdCount(data.subarray(16), data.readUInt32LE(12), true), 3);
    const signal = new Message({
      type: 4,
      serial: 8,
      path: "/org/berth/Supervisor1",
      interface: "org.berth.Supervisor1.Manager",
      member: "ContainerNew",
      signature: "so",
      body: ["web", "/org/berth/Supervisor1/container/web"],
    });
    const [plain] = marshallMessage(signal) as [Buffer];
    assert.equal(unixFdCount(plain.subarray(16), plain.readUInt32LE(12), true), 0);
  });
});

describe("events", () => {
  test("signals become one line each, with the container id decoded from the path", () => {
    const now = new Date("2026-01-01T00:00:00Z");
    const exited = toEvent(
      {
        sender: ":1.1",
        path: "/org/berth/Supervisor1/container/web_2d1",
        interface: "org.berth.Supervisor1.Container",
        member: "Exited",
        body: [3, 1700000000000000n, false],
      },
      now,
    );
    assert.equal(exited?.container, "web-1");
    assert.equal(
      formatEvent(exited!),
      "2026-01-01T00:00:00.000Z exited web-1 ExitCode=3 ExitedAt=1700000000000000 OOMKilled=false",
    );
    const removed = toEvent(
      {
        sender: ":1.1",
        path: "/org/berth/Supervisor1",
        interface: "org.berth.Supervisor1.Manager",
        member: "ContainerRemoved",
        body: ["web-1", "/org/berth/Supervisor1/container/web_2d1"],
      },
      now,
    );
    assert.equal(formatEvent(removed!), "2026-01-01T00:00:00.000Z removed web-1");
  });
});
