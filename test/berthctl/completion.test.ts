// The bash completion file, run by real bash: subcommands, options, signal names, and container ids
// that it gets from the real berthctl talking to a real berthd.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { type Bundle, makeBundle, makeTempDir, type TempDir, uniqueId } from "../fixtures/bundle.js";
import { CHECKOUT, startBerthd, type TestBerthd } from "../helpers/berthd.js";
import { BERTHCTL, berthctl } from "./run-berthctl.js";

const execFileAsync = promisify(execFile);
const COMPLETION = join(CHECKOUT, "packaging/bash-completion/berthctl");

describe("bash completion", () => {
  let berthd: TestBerthd;
  let bin: TempDir;
  let bundle: Bundle;

  before(async () => {
    berthd = await startBerthd();
    bundle = await makeBundle({ args: ["true"] });
    // `berthctl` on PATH, as the package installs it.
    bin = makeTempDir("bin");
    writeFileSync(join(bin.path, "berthctl"), `#!/bin/sh\nexec "${process.execPath}" "${BERTHCTL}" "$@"\n`);
    chmodSync(join(bin.path, "berthctl"), 0o755);
  });
  after(async () => {
    await berthd?.cleanup();
    await bundle?.remove();
    await bin?.remove();
  });

  /** What bash offers after the given words (the last one is the word being completed). */
  const complete = async (...words: string[]): Promise<string[]> => {
    const script = `source "${COMPLETION}"; COMP_WORDS=("$@"); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); _berthctl; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const { stdout } = await execFileAsync("bash", ["-c", script, "bash", ...words], {
      env: { ...process.env, PATH: `${bin.path}:${process.env.PATH}`, BERTH_ADDRESS: berthd.address },
    });
    return stdout.split("\n").filter((l) => l !== "");
  };

  test("subcommands, their options and signal names", async () => {
    assert.deepEqual(await complete("berthctl", "st"), ["start", "status", "stats"]);
    assert.ok((await complete("berthctl", "ps", "--")).includes("--json"));
    assert.ok((await complete("berthctl", "run", "--")).includes("--detach"));
    assert.deepEqual(await complete("berthctl", "kill", "-s", "K"), ["KILL"]);
    assert.deepEqual(await complete("berthctl", "run", "--log-driver", "j"), ["journald"]);
  });

  test("container ids come from berthctl ps -a -q", async () => {
    const id = uniqueId("complete");
    const created = await berthctl(["create", id, bundle.path], { address: berthd.address });
    assert.equal(created.code, 0, created.stderr);
    assert.deepEqual(await complete("berthctl", "rm", id.slice(0, 12)), [id]);
    assert.deepEqual(await complete("berthctl", "logs", id.slice(0, 12)), [id]);
    assert.equal((await berthctl(["rm", id], { address: berthd.address })).code, 0);
  });
});
