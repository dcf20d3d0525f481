// What a caller receives when a handler fails: a BerthError's own name and message, a protocol error as
// is, and for anything else (a bug) Failed with a reference into berthd's log, where the stack goes.

import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, test } from "node:test";
import { protocolError, toReplyError } from "../../src/berthd/dbus/reply-error.js";
import { createLogger } from "../../src/berthd/log.js";
import { InvalidStateError, NoSuchContainerError } from "../../src/common/errors.js";

function capture() {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (chunk: Buffer) => {
    text += chunk.toString();
  });
  return { log: createLogger({ stream, journald: false, level: "debug" }), text: () => text };
}

describe("reply errors", () => {
  test("BerthError → its D-Bus name and message", () => {
    const { log } = capture();
    assert.deepEqual(toReplyError(new NoSuchContainerError("web-1"), "X.Y on /p", log), {
      name: "org.berth.Supervisor1.Error.NoSuchContainer",
      message: 'no container "web-1"',
    });
    assert.equal(
      toReplyError(new InvalidStateError("not running"), "X.Y on /p", log).name,
      "org.berth.Supervisor1.Error.InvalidState",
    );
  });

  test("a protocol error from the dispatcher passes through", () => {
    const { log } = capture();
    assert.deepEqual(toReplyError(protocolError("UnknownMethod", "no method Z"), "X.Z on /p", log), {
      name: "org.freedesktop.DBus.Error.UnknownMethod",
      message: "no method Z",
    });
  });

  test("anything else is Failed with a log reference; the stack goes to the log only", async () => {
    const { log, text } = capture();
    const bug = new TypeError("cannot read properties of undefined (reading 'pid')");
    const reply = toReplyError(bug, "org.berth.Supervisor1.Container.Start on /c", log);
    assert.equal(reply.name, "org.freedesktop.DBus.Error.Failed");
    assert.match(
      reply.message,
      /^internal error #\d+ in org\.berth\.Supervisor1\.Container\.Start on \/c; see berthd's log$/,
    );
    assert.ok(!reply.message.includes("TypeError") && !reply.message.includes(" at "), reply.message);
    await new Promise((r) => setImmediate(r));
    const ref = /#\d+/.exec(reply.message)![0];
    assert.ok(text().includes(`internal error ${ref}`), text());
    assert.ok(text().includes("TypeError: cannot read properties"), text());
    assert.equal(toReplyError("a thrown string", "X.Y on /p", log).name, "org.freedesktop.DBus.Error.Failed");
  });
});
