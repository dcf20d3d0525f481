// berthd.service gives berthd a negative OOMScoreAdjust, which every shim inherits; the shim must hand
// its container the neutral 0 instead (docs/systemd.md), and keep its own value. Outside systemd:
// the shim runs under `choom -n <value>`. Lowering a value needs CAP_SYS_RESOURCE, which this
// machine's root lacks, so the inherited value is +500 here (choom -n -100 when the capability is
// there, as under berthd.service): either way the container must read 0 and the shim the value.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { makeBundle } from "../fixtures/bundle.js";
import { processSpec } from "../fixtures/oci-spec.js";
import { ShimEnv } from "../helpers/shim.js";

function oomScoreAdj(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/oom_score_adj`, "utf8").trim());
}

/** -100 when this process may lower its value (what berthd.service's setting gives), else +500. */
function inheritedValue(): number {
  const probe = spawnSync("choom", ["-n", "-100", "--", "true"], { encoding: "utf8" });
  return probe.status === 0 ? -100 : 500;
}

for (const mode of ["create", "exec"] as const) {
  test(`${mode}: the process gets oom_score_adj 0, the shim keeps the inherited value`, async (t) => {
    const value = inheritedValue();
    const env = await ShimEnv.create(t);
    const bundle = await makeBundle({ args: ["sleep", "1000"] });
    t.after(() => bundle.remove());
    const wrapper = ["choom", "-n", String(value), "--"];
    await env.createWithShim({ bundle: bundle.path, wrapper });
    const shimPid = await env.shimPid();
    assert.equal(oomScoreAdj(shimPid), value, "the shim keeps what it inherited");
    if (mode === "create") {
      assert.equal(oomScoreAdj(await env.initPid()), 0, "the container's init is reset to 0");
      return;
    }
    await env.start();
    const execId = "probe";
    await env.createWithShim({
      execId,
      wrapper,
      process: processSpec({ args: ["sleep", "1000"] }),
    });
    const execShim = await env.shimPid(execId);
    assert.equal(oomScoreAdj(execShim), value, "the exec's shim keeps what it inherited");
    assert.equal(oomScoreAdj(await env.initPid(execId)), 0, "the exec'd process is reset to 0");
  });
}
