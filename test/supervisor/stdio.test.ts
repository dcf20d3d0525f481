import assert from "node:assert/strict";
import { closeSync, readdirSync, readFileSync, readlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { makeBundle, uniqueId } from "../fixtures/bundle.js";
import { readFdToEnd } from "../helpers/dbus.js";
import { makeHarness } from "./harness.js";

describe("supervisor: OpenStdio, CloseStdin, terminals", { timeout: 120_000 }, () => {
  test("OpenStdio before Start: feed stdin, read stdout and stderr to EOF", async (t) => {
    const h = await makeHarness(t);
    const bundle = await makeBundle({ args: ["sh", "-c", 'read line; echo "got:$line"; echo err-line >&2'] });
    t.after(() => bundle.remove());
    const id = uniqueId("stdio");
    await h.sv.createContainer(id, bundle.path, { stdin: true });
    const fds = await h.sv.openStdio(id);
    const stdout = readFdToEnd(fds.stdout);
    const stderr = readFdToEnd(fds.stderr);
    writeSync(fds.stdin, "hello\n");
    closeSync(fds.stdin);
    await h.sv.startContainer(id);
    assert.equal(await h.sv.wait(id), 0);
    assert.equal(await stdout, "got:hello\n");
    assert.equal(await stderr, "err-line\n");
  });

  test("CloseStdin ends cat; a container without Stdin gets /dev/null as its stdin fd", async (t) => {
    const h = await makeHarness(t);
    const bundle = await makeBundle({ args: ["cat"] });
    t.after(() => bundle.remove());
    const id = uniqueId("cat");
    await h.sv.runContainer(id, bundle.path, { stdin: true });
    const fds = await h.sv.openStdio(id);
    const stdout = readFdToEnd(fds.stdout);
    writeSync(fds.stdin, "echoed\n");
    closeSync(fds.stdin);
    closeSync(fds.stderr);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await h.sv.closeStdin(id);
    assert.equal(await h.sv.wait(id), 0);
    assert.equal(await stdout, "echoed\n");

    const other = uniqueId("nostdin");
    await bundle.rewrite({ args: ["sleep", "100"] });
    await h.sv.runContainer(other, bundle.path, {});
    const more = await h.sv.openStdio(other);
    assert.equal(writeSync(more.stdin, "ignored"), 7, "writes to /dev/null succeed");
    for (const fd of [more.stdin, more.stdout, more.stderr]) closeSync(fd);
    await h.sv.kill(other, "all", 9);
    await h.sv.wait(other);
  });

  test("repeated OpenStdio calls share one placeholder per stream, closed when the shim is gone", async (t) => {
    const h = await makeHarness(t);
    const bundle = await makeBundle({ args: ["sh", "-c", "sleep 1; echo late"] });
    t.after(() => bundle.remove());
    const id = uniqueId("reopen");
    await h.sv.createContainer(id, bundle.path, {});
    const fifos = ["stdout", "stderr"].map((name) => join(h.config.stateDir, "containers", id, name));
    /** berthd's (this process's) fds on the container's output FIFOs. */
    const heldOnFifos = () =>
      readdirSync("/proc/self/fd").filter((fd) => {
        try {
          return fifos.includes(readlinkSync(`/proc/self/fd/${fd}`));
        } catch {
          return false;
        }
      }).length;
    for (let i = 0; i < 5; i++) {
      const fds = await h.sv.openStdio(id);
      for (const fd of [fds.stdin, fds.stdout, fds.stderr]) closeSync(fd);
    }
    assert.equal(heldOnFifos(), 2, "two placeholder writers, however many calls");
    const last = await h.sv.openStdio(id);
    const stdout = readFdToEnd(last.stdout);
    closeSync(last.stdin);
    closeSync(last.stderr);
    await h.sv.startContainer(id);
    assert.equal(await h.sv.wait(id), 0);
    assert.equal(await stdout, "late\n", "the reader saw output and then EOF");
    assert.equal(heldOnFifos(), 0, "placeholders closed once the shim was gone");
  });

  test("a terminal container: Resize reaches the pty (stty size)", async (t) => {
    const h = await makeHarness(t);
    const bundle = await makeBundle({ args: ["sh", "-c", "sleep 1; stty size"], terminal: true });
    t.after(() => bundle.remove());
    const id = uniqueId("tty");
    const info = await h.sv.runContainer(id, bundle.path, {});
    assert.equal(info.terminal, true);
    await h.sv.resize(id, 123, 45);
    assert.equal(await h.sv.wait(id), 0);
    assert.match(readFileSync(info.logPath, "utf8"), /45 123/);
  });
});
