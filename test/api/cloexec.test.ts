// Every fd berthd holds is close-on-exec, so no child (shim, runtime call) inherits one: not its bus
// connection (a native module opens it without O_CLOEXEC), not a private-socket client it adopted.
// The shim closes what it inherits too (test/shim/lifecycle.test.ts); this checks berthd's own side.

import assert from "node:assert/strict";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { connectBus } from "../../src/common/bus.js";
import { startBerthd } from "../helpers/berthd.js";

const O_CLOEXEC = 0o2000000;

function inheritableFds(pid: number): string[] {
  const leaks: string[] = [];
  for (const name of readdirSync(`/proc/${pid}/fd`)) {
    if (Number(name) < 3) continue;
    let info: string;
    let target: string;
    try {
      info = readFileSync(`/proc/${pid}/fdinfo/${name}`, "utf8");
      target = readlinkSync(`/proc/${pid}/fd/${name}`);
    } catch {
      continue; // closed meanwhile
    }
    const flags = Number.parseInt(/^flags:\s+([0-7]+)/m.exec(info)?.[1] ?? "0", 8);
    if ((flags & O_CLOEXEC) === 0) leaks.push(`${name} -> ${target}`);
  }
  return leaks;
}

test("berthd holds no fd a child could inherit, with a private-socket client connected", async (t) => {
  const berthd = await startBerthd();
  t.after(() => berthd.cleanup());
  await berthd.serving();
  const client = await connectBus(`unix:path=${join(berthd.stateDir, "private")}`);
  t.after(() => client.disconnect());
  // What this test process itself holds without O_CLOEXEC (the environment's), berthd inherited from
  // us through spawn: not berthd's doing, and not there under systemd.
  const ours = new Set(inheritableFds(process.pid).map((entry) => entry.replace(/^\d+ -> /, "")));
  const leaks = inheritableFds(berthd.pid).filter((entry) => !ours.has(entry.replace(/^\d+ -> /, "")));
  assert.deepEqual(leaks, []);
});
