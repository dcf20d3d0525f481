// The shim's log drivers: `file` (CRI format), `journald` (native protocol), `none`.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { makeBundle } from "../fixtures/bundle.js";
import { parseCriLog, streamText } from "../helpers/cri-log.js";
import { attachOutput } from "../helpers/fifo.js";
import { startJournalReceiver } from "../helpers/journal.js";
import { ShimEnv } from "../helpers/shim.js";

const SCRIPT = "echo out-line; echo err-line >&2; echo second-out; printf no-newline";

describe("shim log drivers", () => {
  test("file: CRI records with RFC 3339 times, streams and F/P tags", async (t) => {
    const env = await ShimEnv.create(t);
    const bundle = await makeBundle({ args: ["sh", "-c", SCRIPT] });
    t.after(() => bundle.remove());
    const before = Date.now();
    await env.createWithShim({ bundle: bundle.path }); // file is the default driver
    await env.start();
    assert.equal((await env.waitExit()).exit_code, 0);
    await env.waitShimGone();
    const records = parseCriLog(await readFile(join(env.stateDir, "log"), "utf8"));
    for (const record of records) {
      const time = Date.parse(record.time);
      assert.ok(time >= before - 1000 && time <= Date.now() + 1000, `record time ${record.time}`);
      assert.match(record.time, /\.\d+Z$/, "sub-second precision, UTC");
    }
    assert.ok(records.some((r) => r.stream === "stdout" && r.tag === "F" && r.text === "out-line"));
    assert.ok(records.some((r) => r.stream === "stderr" && r.tag === "F" && r.text === "err-line"));
    assert.equal(streamText(records, "stderr"), "err-line\n");
    assert.equal(streamText(records, "stdout"), "out-line\nsecond-out\nno-newline");
    // Output that ends without a newline is a partial record (docs/shim.md).
    assert.deepEqual(
      records.filter((r) => r.stream === "stdout").map((r) => r.tag),
      ["F", "F", "P"],
    );
  });

  test("file with --log-path writes there", async (t) => {
    const env = await ShimEnv.create(t);
    const bundle = await makeBundle({ args: ["sh", "-c", "echo elsewhere"] });
    t.after(() => bundle.remove());
    const logPath = join(env.dir, "custom.log");
    await env.createWithShim({ bundle: bundle.path, logDriver: "file", logPath });
    await env.start();
    await env.waitExit();
    await env.waitShimGone();
    assert.equal(streamText(parseCriLog(await readFile(logPath, "utf8")), "stdout"), "elsewhere\n");
    assert.equal(existsSync(join(env.stateDir, "log")), false);
  });

  test("none: no log file, output still reaches an attached reader", async (t) => {
    const env = await ShimEnv.create(t);
    const bundle = await makeBundle({ args: ["sh", "-c", "echo to-reader; echo err-to-reader >&2"] });
    t.after(() => bundle.remove());
    await env.createWithShim({ bundle: bundle.path, logDriver: "none" });
    const stdout = attachOutput(join(env.stateDir, "stdout"));
    const stderr = attachOutput(join(env.stateDir, "stderr"));
    t.after(() => {
      stdout.close();
      stderr.close();
    });
    await env.start();
    await stdout.waitFor(/to-reader\n/);
    await stderr.waitFor(/err-to-reader\n/);
    assert.equal((await env.waitExit()).exit_code, 0);
    assert.equal(stdout.text(), "to-reader\n");
    assert.equal(stderr.text(), "err-to-reader\n");
    assert.equal(existsSync(join(env.stateDir, "log")), false);
  });

  // journald cannot run on this machine (PID 1 is not systemd); the receiver's socket stands in for
  // its native socket /run/systemd/journal/socket, which BERTH_JOURNAL_SOCKET points the shim away from.
  // The real journald is tested in the systemd sandbox.
  test("journald: native protocol datagrams with the container's fields", async (t) => {
    const env = await ShimEnv.create(t);
    const journal = await startJournalReceiver();
    t.after(() => journal.close());
    const bundle = await makeBundle({ args: ["sh", "-c", SCRIPT] });
    t.after(() => bundle.remove());
    await env.createWithShim({
      bundle: bundle.path,
      logDriver: "journald",
      name: "journal-name",
      env: { BERTH_JOURNAL_SOCKET: journal.socketPath },
    });
    await env.start();
    assert.equal((await env.waitExit()).exit_code, 0);
    const out = await journal.waitFor((e) => e.MESSAGE === "out-line");
    const err = await journal.waitFor((e) => e.MESSAGE === "err-line");
    await journal.waitFor((e) => e.MESSAGE === "second-out");
    const partial = await journal.waitFor((e) => e.MESSAGE === "no-newline");
    for (const entry of [out, err, partial]) {
      assert.equal(entry.CONTAINER_ID, env.id);
      assert.equal(entry.CONTAINER_NAME, "journal-name");
      assert.equal(entry.SYSLOG_IDENTIFIER, "journal-name");
    }
    assert.equal(out.PRIORITY, "6");
    assert.equal(err.PRIORITY, "3");
    assert.equal(partial.PRIORITY, "6");
    // Output that ended without a newline is marked as Docker marks it; whole lines are not.
    assert.equal(partial.CONTAINER_PARTIAL_MESSAGE, "true");
    assert.equal(out.CONTAINER_PARTIAL_MESSAGE, undefined);
    assert.equal(existsSync(join(env.stateDir, "log")), false, "journald replaces the log file");
  });
});
