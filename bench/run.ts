// `npm run bench` (issue 5): boots a systemd sandbox (test/sandbox/), installs berth into it from the
// checkout (the shipped units, bus policy and polkit files; test/systemd/install.ts), starts
// berthd.service, and runs bench/inside.ts in it, which starts its own containerd and compares raw
// runc, containerd 1.6 and berth side by side. Prints the markdown tables and saves them, with every
// raw figure as JSON, to bench/results/<time>.{md,json} (git-ignored). The sandbox, and with it every
// container, shim, scope and daemon of the run, is torn down at the end, on failure, on Ctrl-C, and
// after BENCH_TIMEOUT seconds (default 900).
//
//   npm run bench                   the full run (about 10 minutes on 2 busy cores)
//   npm run bench -- --quick        20 containers, 1 run each: for development
//   BENCH_COUNT=50 BENCH_REPS=2 npm run bench     any size (docs/performance.md lists them)
//
// Needs containerd (Debian package; bench/setup.sh installs it) and a built checkout.

import { execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { cp, mkdir, readFile, writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { CHECKOUT, Sandbox } from "../test/sandbox/sandbox.js";
import { CHECKOUT_VERSION, installBerth, upgradeBerth } from "../test/systemd/install.js";

const QUICK: Record<string, string> = {
  BENCH_COUNT: "20",
  BENCH_CONCURRENCY: "1,10",
  BENCH_MAX_STARTS: "1,10",
  BENCH_REPS: "1",
  BENCH_BIG: "40",
  BENCH_DBUS_TOTAL: "60",
  BENCH_CALLS: "40",
  BENCH_RESTARTS: "1",
  BENCH_CLI_REPS: "3",
  BENCH_EXITS: "3",
};

const INSIDE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

function say(text: string): void {
  process.stderr.write(`bench: ${text}\n`);
}

function machine(): string {
  const model = cpus()[0]?.model ?? "unknown CPU";
  const kernel = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
  const versions = (cmd: string, args: string[]) => {
    try {
      return spawnText(cmd, args);
    } catch {
      return "?";
    }
  };
  return [
    `${cpus().length} × ${model}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Linux ${kernel}`,
    `node ${process.version}; ${versions("runc", ["--version"]).split("\n")[0]}; ${versions("containerd", ["--version"]).trim()}`,
  ].join("\n");
}

function spawnText(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8" });
}

/** Runs the inside driver in the sandbox (its namespaces and cgroups), stdout captured, stderr passed on. */
function runInside(
  sandbox: Sandbox,
  env: Record<string, string>,
  timeoutMs: number,
  tree: string,
): Promise<{ code: number; stdout: string }> {
  const cgroups = readFileSync(join(sandbox.dir, "cgroups"), "utf8").trim().split("\n");
  const join_ = cgroups.map((cg) => `echo $$ >'${cg}/cgroup.procs'`).join(" && ");
  const script = `${join_} && exec nsenter -t ${sandbox.pid} -m -p -u -i -C -r -w -- "$@"`;
  const command = ["env", "-C", tree, process.execPath, join(tree, "dist/bench/inside.js")];
  return new Promise((resolve, reject) => {
    const child = spawn("/bin/sh", ["-c", script, "sh", ...command], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { PATH: INSIDE_PATH, LANG: "C.UTF-8", ...env },
    });
    let stdout = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      process.stdout.write(chunk);
    });
    const timer = setTimeout(() => {
      say(`the run took longer than ${timeoutMs / 1000} s: stopping it`);
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout });
    });
  });
}

async function main(): Promise<number> {
  const quick = process.argv.includes("--quick");
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(quick ? QUICK : {})) env[key] = value;
  for (const [key, value] of Object.entries(process.env))
    if (key.startsWith("BENCH_") && value) env[key] = value;
  const timeoutMs = Number(env.BENCH_TIMEOUT ?? 900) * 1000;
  if (!existsSync("/usr/bin/containerd") || !existsSync("/usr/bin/ctr")) {
    say("containerd is not installed: run `bash bench/setup.sh` (npm run bench does) first");
    return 1;
  }
  if (!existsSync(join(CHECKOUT, "dist/bench/inside.js"))) {
    say("dist/bench/inside.js is missing: npm run build first");
    return 1;
  }
  const startedAt = new Date();
  const header = [
    `## berth benchmark, ${startedAt.toISOString().replace(/\.\d+Z$/, "Z")}`,
    "",
    "```",
    machine(),
    `load average before: ${readFileSync("/proc/loadavg", "utf8").trim()}`,
    `sizes: ${Object.keys(env).length === 0 ? "the defaults (docs/performance.md)" : JSON.stringify(env)}`,
    "```",
    "",
  ].join("\n");
  process.stdout.write(`${header}\n`);
  const sandbox = new Sandbox();
  let result: { code: number; stdout: string } = { code: 1, stdout: "" };
  try {
    say("booting the systemd sandbox");
    await sandbox.up();
    say("installing berth from the checkout, starting berthd.service");
    const installed = await installBerth(sandbox, "checkout");
    // A private copy of the build (dist/, the shim, node_modules linked), so that a rebuild of the
    // checkout during the run (other work goes on in it) cannot change what is measured mid-run.
    const version = `${CHECKOUT_VERSION}+bench`;
    await upgradeBerth(sandbox, installed, version);
    const tree = join(sandbox.sharedDir, `berth-${version}`);
    await cp(join(CHECKOUT, "dist/bench"), join(tree, "dist/bench"), { recursive: true });
    await cp(join(CHECKOUT, "dist/test"), join(tree, "dist/test"), { recursive: true });
    await sandbox.execOk("systemctl", ["start", "berthd.service"], { timeoutMs: 60_000 });
    const out = join(sandbox.sharedDir, "results.json");
    result = await runInside(
      sandbox,
      {
        ...env,
        BENCH_DIR: join(sandbox.sharedDir, "bench"),
        BENCH_OUT: out,
        BENCH_BERTHCTL_UNBUNDLED: join(tree, "dist/src/berthctl/main.js"),
      },
      timeoutMs,
      tree,
    );
    const stamp = startedAt.toISOString().replace(/[:.]/g, "-");
    const dir = join(CHECKOUT, "bench/results");
    await mkdir(dir, { recursive: true });
    const json = existsSync(out) ? (JSON.parse(await readFile(out, "utf8")) as Record<string, unknown>) : {};
    json.machine = machine();
    json.header = header;
    json.exitCode = result.code;
    await writeFile(join(dir, `${stamp}.json`), JSON.stringify(json, null, 2));
    await writeFile(join(dir, `${stamp}.md`), `${header}\n${result.stdout}`);
    say(`results: bench/results/${stamp}.md and .json`);
  } finally {
    say("tearing the sandbox down");
    await sandbox.down();
  }
  return result.code;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    say((error as Error).stack ?? String(error));
    process.exit(1);
  },
);
