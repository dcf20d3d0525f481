// berthd.ts's cleanups, seen from outside a child test process: sharedBerthd()'s after() cleans up
// after a failed test, in the process, before the file's next test runs (not only at exit); and a
// test process SIGTERMed before any cleanup ran still takes berthd, its container and shim with it.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { test } from "node:test";
import { processAlive } from "./proc.js";

const url = (path: string) => JSON.stringify(new URL(path, import.meta.url).href);

const IMPORTS = `
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { CONTAINER_INTERFACE, containerPath, MANAGER_INTERFACE, MANAGER_PATH } from ${url("../../src/common/bus-path.js")};
import { makeBundle, uniqueId } from ${url("../fixtures/bundle.js")};
import { sharedBerthd, startBerthd } from ${url("./berthd.js")};
import { callMethod, getProperty } from ${url("./dbus.js")};

/** Runs a sleeping container on \`daemon\` and says where everything it made is. */
async function runOne(daemon, client, bundle) {
  const id = uniqueId("cleanup");
  await callMethod(client, MANAGER_PATH, MANAGER_INTERFACE, "RunContainer", "ssa{sv}", [id, bundle.path, {}]);
  return {
    berthd: daemon.pid,
    bus: daemon.bus.pid,
    busSocket: daemon.bus.socketPath,
    init: await getProperty(client, containerPath(id), CONTAINER_INTERFACE, "Pid"),
    shim: Number(readFileSync(join(daemon.stateDir, "containers", id, "shim.pid"), "utf8")),
    stateDir: daemon.stateDir,
    bundle: bundle.path,
  };
}
`;

/** What of `made` still exists, once SIGKILLed processes had a moment to leave /proc. */
async function whatIsLeft(made: Record<string, string | number>): Promise<Record<string, boolean>> {
  const left = () =>
    Object.fromEntries(
      Object.entries(made).map(([key, value]) => [
        key,
        typeof value === "number" ? processAlive(value) : existsSync(value),
      ]),
    );
  for (let i = 0; i < 50 && Object.values(left()).some(Boolean); i++)
    await new Promise((r) => setTimeout(r, 100));
  return left();
}

const NOTHING = {
  berthd: false,
  bus: false,
  busSocket: false,
  init: false,
  shim: false,
  stateDir: false,
  bundle: false,
};

/** `script` as an ES module in a child node, SIGTERMed after a minute (a cleanup that hangs). */
function runChild(script: string) {
  // Without NODE_TEST_CONTEXT the child reports as a test file run by hand, in text, not to our runner.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const child = spawn(process.execPath, ["--input-type=module", "-e", IMPORTS + script], {
    stdio: ["pipe", "pipe", "pipe"],
    env,
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const timer = setTimeout(() => child.kill("SIGTERM"), 60_000);
  const done = new Promise<{ code: number | null; signal: string | null; output: string }>((resolve) =>
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output });
    }),
  );
  /** The JSON the child printed after `MADE `, once it did (or exited). */
  const made = async (): Promise<Record<string, string | number>> => {
    while (!/^MADE /m.test(output) && child.exitCode === null && child.signalCode === null)
      await new Promise((r) => setTimeout(r, 50));
    const line = /^MADE (.*)$/m.exec(output);
    assert.ok(line, `the child said what it made:\n${output}`);
    return JSON.parse(line[1]!);
  };
  return { stdin: child.stdin, done, made };
}

test("sharedBerthd(): a failed test leaves no berthd, bus, container, shim, state dir or bundle", async () => {
  // A block whose only test runs a container and fails; the file's next test waits for our go (stdin
  // closed) while we look at what is left. Without the fixture's after() the child never exits.
  const child = runChild(`
let made;
describe("a block whose test fails", () => {
  const daemon = sharedBerthd();
  test("runs a container, then fails", async () => {
    made = await runOne(daemon.berthd, daemon.client, await daemon.bundle({ args: ["sleep", "1000"] }));
    throw new Error("failing on purpose");
  });
});
test("waits while the parent looks", async () => {
  console.log("MADE " + JSON.stringify(made));
  await new Promise((resolve) => process.stdin.on("end", resolve).resume());
});
`);
  const left = await whatIsLeft(await child.made());
  child.stdin.end();
  const { code, output } = await child.done;
  assert.equal(code, 1, `the failing test fails the child:\n${output}`);
  assert.match(output, /failing on purpose/);
  assert.deepEqual(left, NOTHING);
});

test("startBerthd(): a test process SIGTERMed before cleanup() leaves no berthd, container or shim", async () => {
  const child = runChild(`
const daemon = await startBerthd();
const made = await runOne(daemon, await daemon.connect(), await makeBundle({ args: ["sleep", "1000"] }));
console.log("MADE " + JSON.stringify(made));
process.kill(process.pid, "SIGTERM");
setTimeout(() => {}, 60_000);
`);
  const { signal, output } = await child.done;
  assert.equal(signal, "SIGTERM", output);
  assert.deepEqual(await whatIsLeft(await child.made()), NOTHING);
});
