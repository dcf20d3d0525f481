// The test helpers' own parsers, so a shim test failing means the shim, not the parser.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseCriLog, streamText } from "./cri-log.js";
import { parseJournalDatagram } from "./journal.js";

describe("journal native protocol parser", () => {
  test("KEY=value fields and the length-prefixed binary form", () => {
    const value = Buffer.from("two\nlines");
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(value.length));
    const datagram = Buffer.concat([
      Buffer.from("PRIORITY=6\nCONTAINER_ID=c1\nMESSAGE\n"),
      length,
      value,
      Buffer.from("\nEMPTY=\n"),
    ]);
    assert.deepEqual(parseJournalDatagram(datagram), {
      PRIORITY: "6",
      CONTAINER_ID: "c1",
      MESSAGE: "two\nlines",
      EMPTY: "",
    });
  });

  test("a binary field that overruns the datagram is an error", () => {
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(100n);
    assert.throws(() =>
      parseJournalDatagram(Buffer.concat([Buffer.from("MESSAGE\n"), length, Buffer.from("x\n")])),
    );
  });
});

describe("CRI log parser", () => {
  test("records, partial lines joined, streams kept apart", () => {
    const log =
      "2026-11-27T09:00:00.123456789Z stdout P hel\n" +
      "2026-11-27T09:00:00.2Z stdout F lo\n" +
      "2026-11-27T09:00:00.3+01:00 stderr F oops \n";
    const records = parseCriLog(log);
    assert.equal(records.length, 3);
    assert.equal(streamText(records, "stdout"), "hello\n");
    assert.equal(streamText(records, "stderr"), "oops \n");
  });

  test("a line that is not a record, or a missing final newline, is an error", () => {
    assert.throws(() => parseCriLog("hello\n"), /line 1/);
    assert.throws(() => parseCriLog("2026-11-27T09:00:00Z stdout X text\n"));
    assert.throws(() => parseCriLog("2026-11-27T09:00:00Z stdout F text"));
  });
});
