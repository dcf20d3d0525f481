import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { makeBundle, uniqueId } from "../fixtures/bundle.js";
import { runc, runtimeCommand } from "../helpers/runtime.js";
import { makeHarness } from "./harness.js";

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("supervisor: recovery of exec'd processes and of interrupted creates", { timeout: 120_000 }, () => {
  test("exec'd processes are re-attached, and one that exited while berthd was down is reported once", async (t) => {
    const first = await makeHarness(t);
    const bundle = await makeBundle({ args: ["sleep", "100"] });
    t.after(() => bundle.remove());
    const id = uniqueId("execrec");
    await first.sv.runContainer(id, bundle.path, {});
    const stays = await first.sv.exec(id, "stays", { args: ["sleep", "100"] });
    await first.sv.exec(id, "leaves", { args: ["sleep", "100"] });
    const leaves = first.sv.processes(id).find((p) => p.id === "leaves")!;
    await first.sv.stop();
    process.kill(leaves.pid, "SIGKILL");
    const exitJson = join(first.config.stateDir, "containers", id, "processes", "leaves", "exit.json");
    await until(() => existsSync(exitJson), "the exec's exit.json");

    const second = await first.restart();
    assert.equal(await second.sv.waitProcess(id, "leaves"), 137);
    const byId = new Map(second.sv.processes(id).map((p) => [p.id, p]));
    assert.equal(byId.get("stays")?.status, "running");
    assert.equal(byId.get("stays")?.pid, stays.pid);
    await second.sv.killProcess(id, "stays", 9);
    assert.equal(await second.sv.waitProcess(id, "stays"), 137);
    const exited = second.events
      .filter((e) => e.kind === "process-exited")
      .map((e) => ("id" in e ? e.id : ""));
    assert.deepEqual(exited.sort(), ["leaves", "stays"]);

    await second.sv.stop();
    const third = await second.restart();
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(third.events.filter((e) => e.kind === "process-exited").length, 0, "reported once only");
    assert.equal(third.sv.processes(id).find((p) => p.id === "leaves")?.exitCode, 137);
  });

  test("berthd gone before recording a RunContainer's start: started.json says running, and since when", async (t) => {
    const first = await makeHarness(t);
    const bundle = await makeBundle({ args: ["sleep", "100"] });
    t.after(() => bundle.remove());
    const [lives, exits] = ["lives", "exits"].map(uniqueId) as [string, string];
    const livesInfo = await first.sv.runContainer(lives, bundle.path, {});
    await first.sv.runContainer(exits, bundle.path, {});
    await first.sv.stop();
    // As if berthd died right after the shim reported, before apply() wrote berthd.json (no scope
    // here, so container-added wrote none either); one of them then exits while berthd is down.
    const containers = join(first.config.stateDir, "containers");
    for (const id of [lives, exits]) rmSync(join(containers, id, "berthd.json"));
    const root = join(first.config.stateDir, "runtime", "runc");
    assert.equal((await runtimeCommand(runc(), root, ["kill", exits, "9"])).code, 0);
    await until(() => existsSync(join(containers, exits, "exit.json")), "exit.json");

    const second = await first.restart();
    const startedAt = (id: string) =>
      BigInt(JSON.parse(readFileSync(join(containers, id, "started.json"), "utf8")).started_at);
    const recovered = second.sv.get(lives)!;
    assert.equal(recovered.status, "running");
    assert.equal(recovered.pid, livesInfo.pid);
    assert.equal(recovered.startedAt, startedAt(lives));
    assert.equal(recovered.startedAt, livesInfo.startedAt, "the same StartedAt as before the restart");
    assert.equal(JSON.parse(readFileSync(join(containers, lives, "berthd.json"), "utf8")).started, true);
    assert.equal(await second.sv.wait(exits), 137, "the exit from while berthd was down is reported");
    assert.equal(second.sv.get(exits)?.startedAt, startedAt(exits), "it ran: StartedAt is kept");
    await second.sv.kill(lives, "all", 9);
    assert.equal(await second.sv.wait(lives), 137);
  });

  test("a create interrupted after request.json (no shim ever ran) is recorded as exit 255, not dropped", async (t) => {
    const first = await makeHarness(t);
    const bundle = await makeBundle({ args: ["sleep", "100"] });
    t.after(() => bundle.remove());
    const id = uniqueId("halfmade");
    const dir = join(first.config.stateDir, "containers", id);
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, "request.json"),
      JSON.stringify({
        id,
        bundle: bundle.path,
        runtime: "runc",
        logDriver: "file",
        createdAt: "1700000000000000",
      }),
    );
    await first.sv.stop();
    const second = await first.restart();
    assert.equal(await second.sv.wait(id), 255);
    assert.equal(second.sv.get(id)?.bundle, bundle.path);
    assert.ok(second.logs.some((l) => l.includes(id) && l.includes("shim died without recording an exit")));
    await second.sv.delete(id);
    assert.equal(existsSync(dir), false);
  });
});
