// berthctl start-up (issue 5, "berthctl start-up overhead as small as Node allows"): wall time of
// berthctl commands against a real berthd on a private bus (no systemd needed), next to `node -e 0`
// (the floor for any Node program) and `ctr --help` when containerd's ctr is installed. Runs every
// variant in turn, REPS times, and prints medians of wall time and of CPU time (GNU time). The tsc
// output (dist/src/berthctl/main.js) and the bundle that is installed (dist/berthctl.mjs) are
// measured; extra berthctl entry files (e.g. an older build) can be compared with them:
//
//   node dist/bench/cli.js [reps=15] [entry.js ...]

import { existsSync } from "node:fs";
import { join } from "node:path";
import { makeBundle, uniqueId } from "../test/fixtures/bundle.js";
import { CHECKOUT, startBerthd } from "../test/helpers/berthd.js";
import { callMethod } from "../test/helpers/dbus.js";
import { fmt, median, ratio, run, table } from "./lib.js";

const reps = Number(process.argv[2] ?? 15);
const entries = [
  join(CHECKOUT, "dist/src/berthctl/main.js"),
  join(CHECKOUT, "dist/berthctl.mjs"),
  ...process.argv.slice(3),
];

const berthd = await startBerthd();
const bundle = await makeBundle({ args: ["sleep", "600"] });
try {
  const client = await berthd.connect();
  for (let i = 0; i < 20; i++) {
    await callMethod(
      client,
      "/org/berth/Supervisor1",
      "org.berth.Supervisor1.Manager",
      "CreateContainer",
      "ssa{sv}",
      [uniqueId("cli"), bundle.path, {}],
    );
  }
  const env = { ...process.env, BERTH_ADDRESS: berthd.address };
  const variants: [string, string, string[]][] = [["`node -e 0`", process.execPath, ["-e", "0"]]];
  if (existsSync("/usr/bin/ctr")) variants.push(["`ctr --help`", "/usr/bin/ctr", ["--help"]]);
  for (const entry of entries) {
    const name = entry.replace(`${CHECKOUT}/`, "");
    for (const args of [["--help"], ["version"], ["ps"], ["ps", "-a"]]) {
      variants.push([`${name} ${args.join(" ")}`, process.execPath, [entry, ...args]]);
    }
  }
  const times = new Map<string, number[]>(variants.map(([name]) => [name, []]));
  // CPU time (user + system, from GNU time) moves far less than wall time on a shared machine.
  const cpu = new Map<string, number[]>(variants.map(([name]) => [name, []]));
  for (let i = 0; i < reps; i++) {
    for (const [name, cmd, args] of variants) {
      const r = await run("/usr/bin/time", ["-f", "BENCH-CPU %U %S", cmd, ...args], { env });
      if (r.code !== 0) throw new Error(`${name}: exit ${r.code}: ${r.stderr}`);
      times.get(name)!.push(r.ms);
      const m = /BENCH-CPU ([\d.]+) ([\d.]+)/.exec(r.stderr);
      if (m) cpu.get(name)!.push((Number(m[1]) + Number(m[2])) * 1000);
    }
  }
  const floor = median(times.get("`node -e 0`")!);
  const ctr = times.has("`ctr --help`") ? median(times.get("`ctr --help`")!) : Number.NaN;
  console.log(`### berthctl wall time, median of ${reps} (20 created containers, private bus)\n`);
  console.log(
    table(
      ["command", ">wall ms", ">over `node -e 0` ms", ">/ `ctr --help`", ">CPU ms (user+sys)"],
      variants.map(([name]) => {
        const m = median(times.get(name)!);
        return [name, fmt(m), fmt(m - floor), ratio(m, ctr), fmt(median(cpu.get(name)!), 0)];
      }),
    ),
  );
} finally {
  await berthd.cleanup();
  await bundle.remove();
}
