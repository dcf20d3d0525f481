// berthctl's interactive paths against a real berthd: exec (exit codes, stdin, env, cwd, user), a
// terminal container on a pty (raw mode, window size and resize), and events --json.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { describe, test } from "node:test";
import { promisify } from "node:util";
import { type SpecOptions, uniqueId } from "../fixtures/bundle.js";
import { CHECKOUT, sharedBerthd } from "../helpers/berthd.js";
import { BERTHCTL, berthctlOn, collect, spawnBerthctl } from "./run-berthctl.js";

const execFileAsync = promisify(execFile);
/** The pty driver lives next to this test's source (tsc does not copy .py files). */
const PTY_RUN = join(CHECKOUT, "test/berthctl/pty-run.py");

describe("berthctl interactive sessions against berthd", () => {
  const daemon = sharedBerthd();
  const ctl = berthctlOn(daemon);
  const bundle = async (spec: SpecOptions): Promise<string> => (await daemon.bundle(spec)).path;
  const running = async (prefix: string): Promise<string> => {
    const id = uniqueId(prefix);
    const r = await ctl(["run", "-d", id, await bundle({ args: ["sleep", "120"] })]);
    assert.equal(r.code, 0, r.stderr);
    return id;
  };

  test("exec passes the process's exit code through and relays its output", async () => {
    const id = await running("exec");
    const out = await ctl(["exec", id, "sh", "-c", "sleep 0.3; echo out; echo err >&2; exit 7"]);
    assert.equal(out.code, 7, out.stderr);
    assert.equal(out.stdout, "out\n");
    assert.equal(out.stderr, "err\n");
    const zero = await ctl(["exec", id, "sh", "-c", "sleep 0.3; exit 0"]);
    assert.equal(zero.code, 0, zero.stderr);
    // Output written (and an exit) before berthctl attaches is relayed too: berthd holds it.
    for (let i = 0; i < 3; i++) {
      const hi = await ctl(["exec", id, "echo", "hi"]);
      assert.deepEqual([hi.code, hi.stdout, hi.stderr], [0, "hi\n", ""], `try ${i}`);
    }
    const quick = await ctl(["exec", id, "sh", "-c", "echo early >&2; exit 9"]);
    assert.deepEqual([quick.code, quick.stdout, quick.stderr], [9, "", "early\n"]);
  });

  test("exec -i round trip; -e, -w and -u reach the process", async () => {
    const id = await running("execi");
    const echoed = await ctl(["exec", "-i", id, "cat"], "through the stdin fd\n");
    assert.equal(echoed.code, 0, echoed.stderr);
    assert.equal(echoed.stdout, "through the stdin fd\n");
    const env = await ctl(
      [
        "exec",
        "-i",
        "-e",
        "GREETING=hi",
        "-w",
        "/tmp",
        "-u",
        "1000:1001",
        id,
        "sh",
        "-c",
        "read x; echo $GREETING $(pwd) $(id -u) $(id -g) $x",
      ],
      "go\n",
    );
    assert.equal(env.code, 0, env.stderr);
    assert.equal(env.stdout, "hi /tmp 1000 1001 go\n");
  });

  test("exec in a container that does not run: exit 125, one line", async () => {
    const r = await ctl(["exec", uniqueId("none"), "true"]);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /^berthctl: exec in \S+: NoSuchContainer: no container "[^"]+"\n$/);
  });

  test("run -i -t on a pty: the container sees a tty of our size, then our resize, and its code comes back", async () => {
    const id = uniqueId("tty");
    const path = await bundle({ args: ["sh", "-c", "stty size; read x; stty size; exit 4"], terminal: true });
    const steps = [
      [30, 100],
      ["30 100", ["resize", 40, 120]],
      ["", ["sleep", 0.5]],
      ["", ["write", "go\r"]],
    ];
    const env = { ...process.env, BERTH_ADDRESS: daemon.address };
    const r = await execFileAsync(
      "python3",
      [PTY_RUN, JSON.stringify(steps), process.execPath, BERTHCTL, "run", "-i", "-t", "--rm", id, path],
      {
        env,
        timeout: 60_000,
      },
    ).then(
      (ok) => ({ code: 0, stdout: ok.stdout }),
      (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
    );
    assert.equal(r.code, 4, r.stdout);
    // libuv keeps ONLCR in raw mode, so our pty turns the container's "\r\n" into "\r\r\n".
    const lines = r.stdout.split(/\r*\n/);
    assert.ok(lines.includes("30 100"), `first size: ${JSON.stringify(r.stdout)}`);
    assert.ok(lines.includes("40 120"), `size after the resize: ${JSON.stringify(r.stdout)}`);
    // Raw mode on our side: the container's pty echoes "go" once; our tty did not echo it again.
    assert.equal(lines.filter((l) => l === "go").length, 1, JSON.stringify(r.stdout));
  });

  test("run -i -t: Ctrl-P Ctrl-Q detaches, the container keeps running", async () => {
    const id = uniqueId("detach");
    const path = await bundle({ args: ["sh", "-c", "echo started; cat"], terminal: true });
    const steps = [
      [24, 80],
      ["started", ["write", "echo-me\r"]],
      ["echo-me\r\r\necho-me", ["write", "\u0010\u0011"]],
    ];
    const env = { ...process.env, BERTH_ADDRESS: daemon.address };
    const r = await execFileAsync(
      "python3",
      [PTY_RUN, JSON.stringify(steps), process.execPath, BERTHCTL, "run", "-i", "-t", id, path],
      {
        env,
        timeout: 60_000,
      },
    ).then(
      (ok) => ({ code: 0, stdout: ok.stdout }),
      (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
    );
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /detached; the process keeps running/);
    const props = await ctl(["inspect", "--json", id]);
    assert.equal(JSON.parse(props.stdout).Status, "running");
  });

  test("exec -i -t on a pty: the process gets a terminal of our size", async () => {
    const id = await running("exectty");
    // The process reads first, so nothing it prints can come before berthctl has attached.
    const steps = [
      [25, 90],
      ["", ["sleep", 1]],
      ["", ["write", "x\r"]],
    ];
    const env = { ...process.env, BERTH_ADDRESS: daemon.address };
    const r = await execFileAsync(
      "python3",
      [
        PTY_RUN,
        JSON.stringify(steps),
        process.execPath,
        BERTHCTL,
        "exec",
        "-i",
        "-t",
        id,
        "sh",
        "-c",
        "read x; tty; stty size; exit 2",
      ],
      { env, timeout: 60_000 },
    ).then(
      (ok) => ({ code: 0, stdout: ok.stdout }),
      (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
    );
    assert.equal(r.code, 2, r.stdout);
    const lines = r.stdout.split(/\r*\n/);
    assert.ok(
      lines.some((l) => l.startsWith("/dev/pts/")),
      `a tty inside: ${JSON.stringify(r.stdout)}`,
    );
    assert.ok(lines.includes("25 90"), `our size inside: ${JSON.stringify(r.stdout)}`);
  });

  test("events --json: one parseable line per signal, in the design's order", async () => {
    const events = spawnBerthctl(["events", "--json"], { address: daemon.address });
    const result = collect(events);
    let buffer = "";
    const seen: Record<string, unknown>[] = [];
    events.stdout!.on("data", (c: Buffer) => {
      buffer += c.toString();
      const lines = buffer.split("\n");
      buffer = lines.pop()!;
      for (const line of lines) seen.push(JSON.parse(line));
    });
    try {
      // events prints nothing until something happens: create probes until one shows up, so the
      // subscription is known to be in place before the container under test exists.
      const probe = uniqueId("probe");
      const probePath = await bundle({ args: ["true"] });
      for (let i = 0; !seen.some((e) => e.event === "created"); i++) {
        assert.ok(i < 100, "events never showed a created container");
        const r = await ctl(["create", `${probe}-${i}`, probePath]);
        assert.equal(r.code, 0, r.stderr);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const id = uniqueId("events");
      const r = await ctl(["run", "--rm", id, await bundle({ args: ["sh", "-c", "exit 6"] })]);
      assert.equal(r.code, 6, r.stderr);
      const deadline = Date.now() + 10_000;
      while (!seen.some((e) => e.container === id && e.event === "removed")) {
        assert.ok(Date.now() < deadline, `no removed event: ${JSON.stringify(seen)}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const mine = seen.filter((e) => e.container === id);
      const order = mine.map((e) =>
        e.event === "status" ? `status=${(e.details as { Status: string }).Status}` : String(e.event),
      );
      const at = (name: string) => order.indexOf(name);
      for (const name of ["created", "status=running", "exited", "status=stopped", "removed"])
        assert.ok(at(name) >= 0, `${name} missing from ${order.join(", ")}`);
      assert.ok(at("created") < at("status=running"), order.join(", "));
      assert.ok(at("status=running") < at("exited"), order.join(", "));
      assert.ok(at("exited") < at("removed") && at("status=stopped") < at("removed"), order.join(", "));
      assert.equal(order.filter((e) => e === "exited").length, 1, "Exited exactly once");
      const exited = mine.find((e) => e.event === "exited")!;
      assert.equal((exited.details as { ExitCode: number }).ExitCode, 6);
      assert.ok(!Number.isNaN(Date.parse(String(exited.time))));
    } finally {
      events.kill("SIGTERM");
    }
    const r = await result;
    assert.equal(r.code, 0, r.stderr);
  });
});
