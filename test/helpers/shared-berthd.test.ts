// sharedBerthd()'s after() cleans up after a failed test, in the test process, before it exits (not
// only through berthd.ts's exit hook): berthd, its dbus-daemon, the container, its shim, the state dir
// and the bundle are gone by the time the next test of the same file runs.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";

const url = (path: string) => JSON.stringify(new URL(path, import.meta.url).href);

// Runs in a child node process: a describe() block whose only test runs a container and then fails;
// the test after that block reports what is left, while the process still runs.
const CHILD = `
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { CONTAINER_INTERFACE, containerPath } from ${url("../../src/common/bus-path.js")};
import { uniqueId } from ${url("../fixtures/bundle.js")};
import { sharedBerthd } from ${url("./berthd.js")};
import { getProperty } from ${url("./dbus.js")};
import { processAlive } from ${url("./proc.js")};

let made;
describe("a block whose test fails", () => {
  const daemon = sharedBerthd();
  test("runs a container, then fails", async () => {
    const bundle = await daemon.bundle({ args: ["sleep", "1000"] });
    const id = uniqueId("fails");
    await daemon.manager("RunContainer", "ssa{sv}", [id, bundle.path, {}]);
    made = {
      berthd: daemon.berthd.pid,
      bus: daemon.berthd.bus.pid,
      busSocket: daemon.berthd.bus.socketPath,
      init: await getProperty(daemon.client, containerPath(id), CONTAINER_INTERFACE, "Pid"),
      shim: Number(readFileSync(join(daemon.berthd.stateDir, "containers", id, "shim.pid"), "utf8")),
      stateDir: daemon.berthd.stateDir,
      bundle: bundle.path,
    };
    throw new Error("failing on purpose");
  });
});

test("what is left after the block", async () => {
  const left = () => ({
    berthd: processAlive(made.berthd),
    bus: processAlive(made.bus),
    busSocket: existsSync(made.busSocket),
    init: processAlive(made.init),
    shim: processAlive(made.shim),
    stateDir: existsSync(made.stateDir),
    bundle: existsSync(made.bundle),
  });
  // A SIGKILLed process may take a moment to be gone from /proc.
  for (let i = 0; i < 50 && Object.values(left()).some(Boolean); i++) await new Promise((r) => setTimeout(r, 100));
  console.log("LEFT " + JSON.stringify(left()));
});
`;

test("sharedBerthd(): a failed test leaves no berthd, bus, container, shim, state dir or bundle", async () => {
  // Without NODE_TEST_CONTEXT the child reports as a test file run by hand, in text, not to our runner.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const child = spawn(process.execPath, ["--input-type=module", "-e", CHILD], {
    stdio: ["ignore", "pipe", "pipe"],
    env,
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  // A child whose cleanup did not run never exits (berthd and the client keep it alive): SIGTERM it
  // after a minute, which fails the assertions below and lets exit-cleanup remove what it left.
  const timer = setTimeout(() => child.kill("SIGTERM"), 60_000);
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  clearTimeout(timer);
  assert.equal(code, 1, `the failing test fails the child:\n${output}`);
  assert.match(output, /failing on purpose/);
  const line = /^LEFT (.*)$/m.exec(output);
  assert.ok(line, `the child reported what was left:\n${output}`);
  assert.deepEqual(JSON.parse(line[1]!), {
    berthd: false,
    bus: false,
    busSocket: false,
    init: false,
    shim: false,
    stateDir: false,
    bundle: false,
  });
});
