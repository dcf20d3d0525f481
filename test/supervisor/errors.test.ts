import assert from "node:assert/strict";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { makeBundle, uniqueId } from "../fixtures/bundle.js";
import { makeTempDir } from "../fixtures/temp.js";
import { makeHarness } from "./harness.js";

describe("supervisor: bad input and wrong states", { timeout: 120_000 }, () => {
  test("bad input gets InvalidArgument (or ContainerExists) and leaves nothing on disk", async (t) => {
    const h = await makeHarness(t);
    const bundle = await makeBundle({ args: ["sleep", "100"] });
    t.after(() => bundle.remove());
    const empty = makeTempDir("nobundle");
    t.after(() => empty.remove());
    const notJson = makeTempDir("notjson");
    t.after(() => notJson.remove());
    writeFileSync(join(notJson.path, "config.json"), "{ not json");
    const huge = makeTempDir("huge");
    t.after(() => huge.remove());
    writeFileSync(join(huge.path, "config.json"), `{"pad":"${"x".repeat(1 << 20)}"}`);
    const noProcess = makeTempDir("noprocess");
    t.after(() => noProcess.remove());
    writeFileSync(join(noProcess.path, "config.json"), '{"root":{"path":"rootfs"}}');

    const ok = uniqueId("ok");
    const badIds = ["", "../x", "a/b", "x".repeat(65), "bad\nid", "-lead", ".hidden"];
    for (const id of badIds) {
      await assert.rejects(
        h.sv.createContainer(id, bundle.path, {}),
        { code: "InvalidArgument" },
        JSON.stringify(id),
      );
    }
    const badBundles: [string, RegExp][] = [
      ["relative/bundle", /absolute/],
      ["/nonexistent/berth-bundle", /not a directory/],
      [empty.path, /no config\.json/],
      [notJson.path, /not valid JSON/],
      [huge.path, /1 MiB/],
      [noProcess.path, /"process"/],
    ];
    for (const [path, message] of badBundles) {
      await assert.rejects(h.sv.createContainer(ok, path, {}), { code: "InvalidArgument", message }, path);
    }
    await assert.rejects(h.sv.createContainer(ok, bundle.path, { runtime: "nope" }), {
      code: "InvalidArgument",
      message: /unknown runtime "nope": configured runtimes are runc, crun/,
    });
    await assert.rejects(h.sv.createContainer(ok, bundle.path, { logDriver: "syslog" as "file" }), {
      code: "InvalidArgument",
    });
    await assert.rejects(h.sv.createContainer(ok, bundle.path, { stdin: "yes" as unknown as boolean }), {
      code: "InvalidArgument",
    });
    await assert.rejects(h.sv.createContainer(ok, bundle.path, { labels: { a: 1 as unknown as string } }), {
      code: "InvalidArgument",
    });
    assert.deepEqual(
      readdirSync(h.config.stateDir).filter(
        (n) => n === "containers" && readdirSync(join(h.config.stateDir, n)).length > 0,
      ),
      [],
    );

    // A create the runtime refuses: RuntimeFailed with the runtime's words, and nothing left.
    await bundle.rewrite({ args: ["/no/such/program"] });
    await assert.rejects(h.sv.createContainer(ok, bundle.path, {}), (error: Error & { code?: string }) => {
      assert.equal(error.code, "RuntimeFailed");
      assert.match(error.message, /no such file or directory/i);
      return true;
    });
    assert.deepEqual(readdirSync(join(h.config.stateDir, "containers")), []);
    assert.deepEqual(
      readdirSync(join(h.config.stateDir, "runtime", "runc")),
      [],
      "the runtime kept no state",
    );
    assert.equal(
      h.events.filter((e) => e.kind !== "manager-changed").length,
      0,
      "no events for refused creates",
    );

    // A second create with a live id: ContainerExists, and the first is untouched.
    await bundle.rewrite({ args: ["sleep", "100"] });
    await h.sv.createContainer(ok, bundle.path, {});
    await assert.rejects(h.sv.createContainer(ok, bundle.path, {}), { code: "ContainerExists" });
    assert.equal(h.sv.get(ok)?.status, "created");

    for (const signal of [0, 65, -1, 1.5]) {
      await assert.rejects(h.sv.kill(ok, "init", signal), { code: "InvalidArgument" }, String(signal));
    }
    await assert.rejects(h.sv.kill(ok, "everyone" as "all", 9), { code: "InvalidArgument" });
    await assert.rejects(h.sv.startContainer("missing"), { code: "NoSuchContainer" });
    await assert.rejects(h.sv.exec(ok, "e1", { args: [] }), { code: "InvalidArgument" });
    await assert.rejects(h.sv.exec(ok, "../e", { args: ["true"] }), { code: "InvalidArgument" });
  });

  test("InvalidState: Start twice, Delete while running, Pause when stopped, Resize without a terminal", async (t) => {
    const h = await makeHarness(t);
    const bundle = await makeBundle({ args: ["sleep", "100"] });
    t.after(() => bundle.remove());
    const id = uniqueId("state");
    await h.sv.runContainer(id, bundle.path, {});
    await assert.rejects(h.sv.startContainer(id), { code: "InvalidState", message: /is running/ });
    await assert.rejects(h.sv.delete(id), { code: "InvalidState", message: /is running/ });
    await assert.rejects(h.sv.resume(id), { code: "InvalidState" });
    await assert.rejects(h.sv.resize(id, 80, 24), { code: "InvalidState", message: /no terminal/ });
    await assert.rejects(h.sv.closeStdin(id), { code: "InvalidState", message: /Stdin/ });
    await h.sv.kill(id, "all", 9);
    assert.equal(await h.sv.wait(id), 137);
    await assert.rejects(h.sv.pause(id), { code: "InvalidState", message: /is stopped/ });
    await assert.rejects(h.sv.kill(id, "init", 9), { code: "InvalidState" });
    await assert.rejects(h.sv.exec(id, "e1", { args: ["true"] }), { code: "InvalidState" });
    await assert.rejects(h.sv.openStdio(id), { code: "InvalidState" });
    await assert.rejects(h.sv.stats(id), { code: "InvalidState" });
    await h.sv.delete(id);
    await assert.rejects(h.sv.delete(id), { code: "NoSuchContainer" });
  });
});
