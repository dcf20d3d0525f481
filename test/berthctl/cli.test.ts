// berthctl without a daemon: help, usage errors, and failures to reach a bus. Each failure must be one
// line on stderr with the documented exit code.

import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import { join } from "node:path";
import { describe, test } from "node:test";
import { COMMANDS } from "../../src/berthctl/cli/commands.js";
import { makeTempDir } from "../fixtures/temp.js";
import { assertOneLineError, berthctl } from "./run-berthctl.js";

describe("berthctl without a daemon", () => {
  test("berthctl --help lists every subcommand and exits 0", async () => {
    const r = await berthctl(["--help"]);
    assert.equal(r.code, 0);
    for (const c of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${c.name} `, "m"));
  });

  test("every subcommand has --help, exits 0, and loads without touching a bus", async () => {
    for (const c of COMMANDS) {
      const r = await berthctl([c.name, "--help"], { address: "unix:path=/nonexistent/bus" });
      assert.equal(r.code, 0, `${c.name} --help: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^Usage: berthctl ${c.name} `), c.name);
      assert.equal(r.stderr, "");
    }
  });

  test("no command: help on stderr, exit 2", async () => {
    const r = await berthctl([]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^Usage: berthctl/);
  });

  test("usage errors are one line and exit 2", async () => {
    for (const args of [
      ["frobnicate"],
      ["kill", "-s", "NOPE", "x"],
      ["ps", "--bogus"],
      ["create", "only-id"],
      ["exec", "x"],
      ["logs", "-n", "many", "x"],
      ["run", "-d", "-t", "x", "/b"],
    ]) {
      const r = await berthctl(args, { address: "unix:path=/nonexistent/bus" });
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assertOneLineError(r.stderr);
    }
  });

  test("an unreachable bus: one line naming the address, exit 1 (125 for run and exec)", async () => {
    const address = "unix:path=/nonexistent/bus";
    for (const [args, code] of [
      [["ps"], 1],
      [["start", "x"], 1],
      [["run", "x", "/nonexistent"], 125],
      [["exec", "x", "true"], 125],
    ] as const) {
      const r = await berthctl([...args], { address });
      assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
      assertOneLineError(r.stderr);
      assert.match(r.stderr, /\/nonexistent\/bus/);
    }
  });

  test("version without a daemon: the client's version, the reason on stderr, exit 1", async () => {
    const r = await berthctl(["version"], { address: "unix:path=/nonexistent/bus" });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^berthctl \d+\.\d+\.\d+\n$/);
    assertOneLineError(r.stderr);
  });

  test("--address wins over BERTH_ADDRESS", async () => {
    const r = await berthctl(["--address", "unix:path=/nonexistent/first", "ps"], {
      address: "unix:path=/nonexistent/second",
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /first/);
  });

  test("a bus that never answers: the call times out with a clear message", async (t) => {
    const dir = makeTempDir("silent-bus");
    const sockets: Socket[] = [];
    const server = createServer((socket) => {
      sockets.push(socket);
      socket.resume(); // read everything, answer nothing
    });
    const path = join(dir.path, "socket");
    await new Promise<void>((resolve) => server.listen(path, resolve));
    t.after(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
      await dir.remove();
    });
    const r = await berthctl(["--timeout", "1", "ps"], { address: `unix:path=${path}` });
    assert.equal(r.code, 1);
    assertOneLineError(r.stderr);
    assert.match(r.stderr, /timed out/);
  });
});
