// connectBus against a server that hangs up during the handshake (a berthd stopping on its private
// socket): the connect fails with the hang-up as its reason, not by running out its timeout.

import assert from "node:assert/strict";
import { createServer } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { BusConnectError, connectBus } from "../../src/common/bus.js";
import { makeTempDir } from "../fixtures/temp.js";

test("a connection closed during the handshake fails by the hang-up, not by the timeout", async (t) => {
  const dir = makeTempDir("bus-connect");
  t.after(() => dir.remove());
  const path = join(dir.path, "socket");
  // It reads the client's AUTH line, then hangs up without an answer, as a stopping berthd did.
  const server = createServer((socket) => socket.once("data", () => socket.destroy()));
  await new Promise<void>((resolve) => server.listen(path, resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  await assert.rejects(connectBus(`unix:path=${path}`, 30_000), (error: unknown) => {
    assert.ok(error instanceof BusConnectError);
    assert.doesNotMatch(error.message, /no answer in/, "it failed by the hang-up, not the timeout");
    return true;
  });
});
