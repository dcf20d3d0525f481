// berthctl end to end against a real berthd on a private dbus-daemon, with real runc containers:
// run (exit codes passed through, -i, --rm, -d), create/start/attach, ps, inspect, status, stats,
// kill, pause/resume, wait, rm -f, logs, version, and the daemon's errors as one-line messages.

import assert from "node:assert/strict";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { makeTempDir, type SpecOptions, uniqueId } from "../fixtures/bundle.js";
import { sharedBerthd } from "../helpers/berthd.js";
import { waitForText } from "../helpers/wait.js";
import {
  assertOneLineError,
  berthctl,
  berthctlOn,
  collect,
  type Result,
  spawnBerthctl,
} from "./run-berthctl.js";

describe("berthctl against berthd", () => {
  const daemon = sharedBerthd();
  const ctl = berthctlOn(daemon);
  const bundle = async (spec: SpecOptions): Promise<string> => (await daemon.bundle(spec)).path;
  const inspect = async (id: string): Promise<Record<string, unknown>> => {
    const r = await ctl(["inspect", "--json", id]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
  };

  test("run passes the container's exit code through: 0 and 3, output on the right streams", async () => {
    const ok = await ctl([
      "run",
      uniqueId("ok"),
      await bundle({ args: ["sh", "-c", "echo out; echo err >&2"] }),
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, "out\n");
    assert.equal(ok.stderr, "err\n");
    const three = await ctl(["run", uniqueId("three"), await bundle({ args: ["sh", "-c", "exit 3"] })]);
    assert.equal(three.code, 3, three.stderr);
  });

  test("run exits 137 when the container is killed with SIGKILL", async () => {
    const id = uniqueId("killed");
    const running = spawnBerthctl(["run", id, await bundle({ args: ["sleep", "60"] })], {
      address: daemon.address,
    });
    const done = collect(running);
    await waitForStatus(ctl, id, "running");
    const kill = await ctl(["kill", "-s", "KILL", id]);
    assert.equal(kill.code, 0, kill.stderr);
    assert.equal(kill.stdout, `${id}\n`);
    const r = await done;
    assert.equal(r.code, 137, r.stderr);
    const waited = await ctl(["wait", id]);
    assert.equal(waited.stdout, "137\n");
  });

  test("run passes SIGTERM on to the container and exits with the code it chose", async () => {
    const id = uniqueId("sigproxy");
    const script = "trap 'echo caught; exit 11' TERM; echo ready; while :; do sleep 0.1; done";
    const child = spawnBerthctl(["run", id, await bundle({ args: ["sh", "-c", script] })], {
      address: daemon.address,
    });
    const done = collect(child);
    await new Promise<void>((resolve) => {
      let out = "";
      child.stdout!.on("data", (c: Buffer) => {
        out += c.toString();
        if (out.includes("ready")) resolve();
      });
    });
    child.kill("SIGTERM");
    const r = await done;
    assert.equal(r.code, 11, r.stderr);
    assert.equal(r.stdout, "ready\ncaught\n");
  });

  test("with no --address and no BERTH_ADDRESS, the system bus ($DBUS_SYSTEM_BUS_ADDRESS) is used", async () => {
    // /run/berth/private does not exist in tests (or is tried first and falls back silently).
    const r = await berthctl(["version"], { env: { DBUS_SYSTEM_BUS_ADDRESS: daemon.address } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^berthd /m);
  });

  test("run -i --rm: stdin round trip, EOF closes the container's stdin, and the container is gone", async () => {
    const id = uniqueId("cat");
    const r = await ctl(["run", "-i", "--rm", id, await bundle({ args: ["cat"] })], "line one\nline two\n");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "line one\nline two\n");
    const list = await ctl(["ps", "-a", "-q"]);
    assert.ok(!list.stdout.split("\n").includes(id), "an --rm container is removed after it exits");
  });

  test("run -d, ps (table, -q, --json), inspect, status, stats --json, pause/resume, rm -f", async () => {
    const id = uniqueId("bg");
    const started = await ctl([
      "run",
      "-d",
      "-l",
      "team=infra",
      "-l",
      "tier=web",
      id,
      await bundle({ args: ["sleep", "60"] }),
    ]);
    assert.equal(started.code, 0, started.stderr);
    assert.equal(started.stdout, `${id}\n`);

    const table = await ctl(["ps"]);
    assert.match(table.stdout, /^CONTAINER\s+STATUS\s+PID/);
    assert.match(table.stdout, new RegExp(`^${id}\\s+running`, "m"));
    assert.ok((await ctl(["ps", "-q"])).stdout.split("\n").includes(id));
    const listed = JSON.parse((await ctl(["ps", "--json"])).stdout) as Record<string, unknown>[];
    const mine = listed.find((c) => c.Id === id);
    assert.ok(mine, "ps --json lists the container");
    assert.equal(mine.Status, "running");
    assert.deepEqual(mine.Labels, { team: "infra", tier: "web" });

    const props = await inspect(id);
    for (const key of [
      "Id",
      "Bundle",
      "Runtime",
      "Labels",
      "Terminal",
      "Status",
      "Pid",
      "ShimPid",
      "Unit",
      "CreatedAt",
      "StartedAt",
      "ExitedAt",
      "ExitCode",
      "OOMKilled",
      "LogDriver",
      "LogPath",
    ])
      assert.ok(key in props, `inspect --json has ${key}`);
    assert.equal(props.ExitCode, -1);
    assert.ok((props.Pid as number) > 0);
    const plain = await ctl(["inspect", id]);
    assert.match(plain.stdout, new RegExp(`^Id=${id}$`, "m"));
    assert.match(plain.stdout, /^Labels=team=infra tier=web$/m);

    const status = await ctl(["status", id]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`^● ${id} - running`));
    assert.match(status.stdout, new RegExp(`^\\s+PID: ${props.Pid}$`, "m"));
    assert.match(status.stdout, new RegExp(`^\\s+Shim PID: ${props.ShimPid}$`, "m"));

    const stats = JSON.parse((await ctl(["stats", "--json", id])).stdout) as Record<
      string,
      Record<string, number>
    >;
    assert.ok(stats[id]!.MemoryCurrent! > 0, "MemoryCurrent is the cgroup's usage");
    assert.equal(stats[id]!.Pids, 1);
    assert.match((await ctl(["stats", id])).stdout, new RegExp(`^${id}\\s+\\S+ \\S*B\\s+\\S+ s\\s+1$`, "m"));

    assert.equal((await ctl(["pause", id])).code, 0);
    assert.equal((await inspect(id)).Status, "paused");
    assert.equal((await ctl(["resume", id])).code, 0);
    assert.equal((await inspect(id)).Status, "running");

    const refused = await ctl(["rm", id]);
    assert.equal(refused.code, 1);
    assertOneLineError(refused.stderr);
    assert.match(refused.stderr, new RegExp(`^berthctl: rm ${id}: InvalidState: `));

    const removed = await ctl(["rm", "-f", id]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.stdout, `${id}\n`);
    assert.ok(!(await ctl(["ps", "-a", "-q"])).stdout.split("\n").includes(id));
  });

  test("rm -f a paused container", async () => {
    const id = uniqueId("paused");
    assert.equal((await ctl(["run", "-d", id, await bundle({ args: ["sleep", "60"] })])).code, 0);
    assert.equal((await ctl(["pause", id])).code, 0);
    const r = await ctl(["rm", "-f", id]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!(await ctl(["ps", "-a", "-q"])).stdout.split("\n").includes(id));
  });

  test("create, attach before start, start: attach forwards stdin and exits with the container's code", async () => {
    const id = uniqueId("attach");
    const created = await ctl([
      "create",
      "-i",
      id,
      await bundle({ args: ["sh", "-c", "read x; echo got $x; exit 5"] }),
    ]);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stdout, `${id}\n`);
    assert.equal((await inspect(id)).Status, "created");
    const attached = spawnBerthctl(["attach", id], { address: daemon.address });
    const result = collect(attached, { keepStdinOpen: true });
    const started = await ctl(["start", id]);
    assert.equal(started.code, 0, started.stderr);
    // The container reads before it writes, and attach forwards stdin only once it holds the stdio
    // fds, so its output cannot be missed.
    attached.stdin!.write("hello\n");
    const r = await result;
    assert.equal(r.code, 5, r.stderr);
    assert.equal(r.stdout, "got hello\n");
  });

  test("logs from the file driver: streams apart, -n, -f until exit", async () => {
    const id = uniqueId("logs");
    const r = await ctl([
      "run",
      "--log-driver",
      "file",
      id,
      await bundle({ args: ["sh", "-c", "echo one; echo two >&2; echo three"] }),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const all = await ctl(["logs", id]);
    assert.equal(all.code, 0, all.stderr);
    assert.equal(all.stdout, "one\nthree\n");
    assert.equal(all.stderr, "two\n");
    // The shim orders records across streams as it reads them: -n is checked on one stream.
    const lines = uniqueId("lines");
    assert.equal(
      (await ctl(["run", lines, await bundle({ args: ["sh", "-c", "echo a; echo b; echo c"] })])).code,
      0,
    );
    const last = await ctl(["logs", "-n", "2", lines]);
    assert.equal(last.stdout, "b\nc\n");

    const follow = uniqueId("follow");
    assert.equal(
      (
        await ctl([
          "run",
          "-d",
          follow,
          await bundle({ args: ["sh", "-c", "echo first; sleep 1; echo second"] }),
        ])
      ).code,
      0,
    );
    const followed = await ctl(["logs", "-f", follow]);
    assert.equal(followed.code, 0, followed.stderr);
    assert.equal(followed.stdout, "first\nsecond\n");
  });

  test("logs from the journald driver go through journalctl CONTAINER_ID=<id> -o cat", async (t) => {
    // Test double: no journald runs here (PID 1 is not systemd), so a stand-in `journalctl` on PATH
    // records its arguments and prints two lines; with -f it runs until berthctl stops it.
    const bin = makeTempDir("journalctl");
    t.after(() => bin.remove());
    const argsFile = join(bin.path, "args");
    writeFileSync(
      join(bin.path, "journalctl"),
      `#!/bin/sh\necho "$@" >> "${argsFile}"\necho "journal line 1"\necho "journal line 2"\n` +
        `case " $* " in *" -f "*) exec sleep 60 ;; esac\n`,
    );
    chmodSync(join(bin.path, "journalctl"), 0o755);
    const env = { PATH: `${bin.path}:${process.env.PATH}` };

    const id = uniqueId("journal");
    assert.equal(
      (await ctl(["run", "--log-driver", "journald", id, await bundle({ args: ["true"] })])).code,
      0,
    );
    const r = await berthctl(["logs", id], { address: daemon.address, env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "journal line 1\njournal line 2\n");
    const status = await berthctl(["status", "-n", "2", id], { address: daemon.address, env });
    assert.match(status.stdout, /\n\njournal line 1\njournal line 2\n$/);

    // The container runs until the test has seen journalctl -f start: a fixed sleep raced berthctl's
    // Status read on a loaded machine (the container had exited, so no -f).
    const live = uniqueId("journalf");
    assert.equal(
      (await ctl(["run", "-d", "--log-driver", "journald", live, await bundle({ args: ["sleep", "60"] })]))
        .code,
      0,
    );
    const following = berthctl(["logs", "-f", "-n", "5", live], {
      address: daemon.address,
      env,
      timeoutMs: 20_000,
    });
    await waitForText(argsFile, `CONTAINER_ID=${live} -o cat --no-pager -n 5 -f`);
    assert.equal((await ctl(["kill", "-s", "KILL", live])).code, 0);
    const followed = await following;
    assert.equal(followed.code, 0, followed.stderr);
    assert.equal(followed.signal, null, "berthctl ended journalctl -f itself once the container exited");
    assert.deepEqual(readFileSync(argsFile, "utf8").split("\n"), [
      `CONTAINER_ID=${id} -o cat --no-pager`,
      `CONTAINER_ID=${id} -o cat --no-pager -n 2`,
      `CONTAINER_ID=${live} -o cat --no-pager -n 5 -f`,
      "",
    ]);
  });

  test("logs of a container that keeps none: one-line error, exit 1", async () => {
    const id = uniqueId("nolog");
    assert.equal((await ctl(["run", "--log-driver", "none", id, await bundle({ args: ["true"] })])).code, 0);
    const r = await ctl(["logs", id]);
    assert.equal(r.code, 1);
    assertOneLineError(r.stderr);
    assert.match(r.stderr, /LogDriver "none"/);
  });

  test("status shows the exit code and the last log lines", async () => {
    const id = uniqueId("status");
    const script = "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo line$i; done; exit 2";
    assert.equal((await ctl(["run", id, await bundle({ args: ["sh", "-c", script] })])).code, 2);
    const r = await ctl(["status", id]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\s+Exit code: 2$/m);
    const tail = r.stdout.split("\n\n")[1]!;
    assert.equal(tail, "line3\nline4\nline5\nline6\nline7\nline8\nline9\nline10\nline11\nline12\n");
  });

  test("kill -s by number and --all; wait prints the code", async () => {
    const id = uniqueId("kill");
    assert.equal(
      (
        await ctl([
          "run",
          "-d",
          id,
          await bundle({ args: ["sh", "-c", "trap 'exit 42' TERM; while :; do sleep 0.1; done"] }),
        ])
      ).code,
      0,
    );
    assert.equal((await ctl(["kill", "-s", "15", id])).code, 0);
    assert.equal((await ctl(["wait", id])).stdout, "42\n");

    const all = uniqueId("killall");
    assert.equal(
      (await ctl(["run", "-d", all, await bundle({ args: ["sh", "-c", "sleep 60 & wait"] })])).code,
      0,
    );
    assert.equal((await ctl(["kill", "--all", "-s", "SIGKILL", all])).code, 0);
    assert.equal((await ctl(["wait", all])).stdout, "137\n");
  });

  test("version prints the client's and the daemon's", async () => {
    const r = await ctl(["version"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^berthctl \d+\.\d+\.\d+\nberthd \d+\.\d+\.\d+\n$/);
  });

  test("daemon errors: one line with the D-Bus error's short name; nothing left behind", async () => {
    const missing = uniqueId("missing");
    for (const args of [
      ["start", missing],
      ["inspect", missing],
      ["rm", missing],
      ["status", missing],
    ]) {
      const r = await ctl(args);
      assert.equal(r.code, 1, `${args[0]}: ${r.stderr}`);
      assertOneLineError(r.stderr);
      assert.match(r.stderr, new RegExp(`^berthctl: ${args[0]} ${missing}: `));
    }
    const start = await ctl(["start", missing]);
    assert.match(start.stderr, new RegExp(`NoSuchContainer: no container "${missing}"`));

    const bad = uniqueId("badbundle");
    const r = await ctl(["run", bad, "/nonexistent/bundle"]);
    assert.equal(r.code, 125);
    assertOneLineError(r.stderr);
    assert.match(r.stderr, /InvalidArgument/);
    assert.ok(!(await ctl(["ps", "-a", "-q"])).stdout.split("\n").includes(bad));

    const invalid = await ctl(["create", "../evil", "/tmp"]);
    assert.equal(invalid.code, 1);
    assertOneLineError(invalid.stderr);
    assert.match(invalid.stderr, /InvalidArgument/);
  });

  test("an unprivileged user may read (ps, inspect) but not change (kill): AccessDenied, one line", async () => {
    const id = uniqueId("policy");
    assert.equal((await ctl(["run", "-d", id, await bundle({ args: ["sleep", "60"] })])).code, 0);
    const nobody = 65534;
    const list = await berthctl(["ps", "-q"], { address: daemon.address, uid: nobody });
    assert.equal(list.code, 0, list.stderr);
    assert.ok(list.stdout.split("\n").includes(id));
    assert.equal(
      (await berthctl(["inspect", "--json", id], { address: daemon.address, uid: nobody })).code,
      0,
    );
    const table = await berthctl(["ps"], { address: daemon.address, uid: nobody });
    assert.match(table.stdout, new RegExp(`^${id}\\s+running`, "m"), table.stderr);
    const kill = await berthctl(["kill", id], { address: daemon.address, uid: nobody });
    assert.equal(kill.code, 1);
    assertOneLineError(kill.stderr);
    assert.match(kill.stderr, new RegExp(`^berthctl: kill ${id}: AccessDenied: `));
    assert.equal((await inspect(id)).Status, "running");
  });

  test("run -t on a bundle without a terminal: exit 125, the container is removed", async () => {
    const id = uniqueId("notty");
    const r = await ctl(["run", "-t", id, await bundle({ args: ["true"] })]);
    assert.equal(r.code, 125);
    assertOneLineError(r.stderr);
    assert.match(r.stderr, /no terminal/);
    assert.ok(!(await ctl(["ps", "-a", "-q"])).stdout.split("\n").includes(id));
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function waitForStatus(
  ctl: (args: string[]) => Promise<Result>,
  id: string,
  status: string,
): Promise<void> {
  await waitFor(async () => {
    const r = await ctl(["inspect", "--json", id]);
    return r.code === 0 && JSON.parse(r.stdout).Status === status;
  }, 20_000);
}
