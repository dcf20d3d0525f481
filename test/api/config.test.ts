// berthd's config file: defaults, every key, and refusals that name the file, the line and the reason.

import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ConfigError, loadConfig, parseConfig } from "../../src/berthd/config.js";
import { makeTempDir } from "../fixtures/temp.js";
import { SHIM_PATH } from "../helpers/berthd.js";

const FILE = "/etc/berth/berthd.toml";

function refusal(text: string): ConfigError {
  try {
    parseConfig(text, FILE, "/run/berth");
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error;
  }
  assert.fail("the config was accepted");
}

describe("berthd config", () => {
  test("an empty file means defaults: runc and crun from PATH, runc default, file logs, 10 starts", () => {
    const config = parseConfig("", FILE, "/run/berth");
    assert.deepEqual(
      config.runtimes.map((r) => r.name),
      ["runc", "crun"],
    );
    assert.equal(config.defaultRuntime, "runc");
    assert.equal(config.defaultLogDriver, "file");
    assert.equal(config.maxConcurrentStarts, 10);
    assert.equal(config.stateDir, "/run/berth");
    assert.ok(config.runtimes.every((r) => r.path.startsWith("/")));
    // With no shim_path, the shim `npm run build` made in this checkout (else the installed one).
    assert.equal(config.shimPath, existsSync(SHIM_PATH) ? SHIM_PATH : "/usr/lib/berth/berth-shim");
  });

  test("every key is applied", () => {
    const config = parseConfig(
      `default_runtime = "crun"
default_log_driver = "journald"
max_concurrent_starts = 3
cgroup_driver = "systemd"
shim_path = "/opt/berth/berth-shim"

[runtimes.runc]
path = "/usr/sbin/runc"
args = ["--debug"]

[runtimes.crun]
path = "/usr/bin/crun"
args = ["--cgroup-manager=disabled"]
`,
      FILE,
      "/tmp/state",
    );
    assert.deepEqual(config, {
      stateDir: "/tmp/state",
      runtimes: [
        { name: "runc", path: "/usr/sbin/runc", args: ["--debug"] },
        { name: "crun", path: "/usr/bin/crun", args: ["--cgroup-manager=disabled"] },
      ],
      defaultRuntime: "crun",
      defaultLogDriver: "journald",
      maxConcurrentStarts: 3,
      cgroupDriver: "systemd",
      shimPath: "/opt/berth/berth-shim",
    });
  });

  test("refusals name the file, the line and the reason", () => {
    const syntax = refusal('default_runtime = "runc"\nmax_concurrent_starts = = 3\n');
    assert.equal(syntax.file, FILE);
    assert.equal(syntax.line, 2);
    assert.match(syntax.message, /^\/etc\/berth\/berthd\.toml:2: /);

    const unknown = refusal('default_runtime = "runc"\n\nfavourite_colour = "blue"\n');
    assert.equal(unknown.line, 3);
    assert.match(unknown.message, /unknown key "favourite_colour"/);

    const wrongType = refusal('max_concurrent_starts = "ten"\n');
    assert.equal(wrongType.line, 1);
    assert.match(wrongType.message, /max_concurrent_starts.*integer/);

    assert.match(refusal("max_concurrent_starts = 0\n").message, /max_concurrent_starts/);
    assert.match(refusal('default_log_driver = "syslog"\n').message, /journald, file, none/);
    assert.match(refusal('cgroup_driver = "v3"\n').message, /cgroupfs, systemd/);
    assert.match(refusal('shim_path = "relative/shim"\n').message, /absolute/);

    const missingDefault = refusal('default_runtime = "youki"\n');
    assert.equal(missingDefault.line, 1);
    assert.match(missingDefault.message, /default runtime "youki" is not configured/);

    const runtimeKey = refusal('[runtimes.runc]\npath = "/usr/sbin/runc"\nflags = []\n');
    assert.equal(runtimeKey.line, 1);
    assert.match(runtimeKey.message, /unknown key "flags" in \[runtimes\.runc\]/);
    assert.match(refusal('[runtimes.runc]\npath = "runc"\n').message, /absolute path/);
    assert.match(
      refusal('[runtimes.runc]\npath = "/usr/sbin/runc"\nargs = "x"\n').message,
      /array of strings/,
    );
  });

  test("a missing default file means defaults; a missing named file is refused", () => {
    const dir = makeTempDir("config");
    try {
      const missing = join(dir.path, "absent.toml");
      assert.equal(loadConfig({ file: missing, explicit: false }).defaultRuntime, "runc");
      assert.throws(() => loadConfig({ file: missing, explicit: true }), /absent\.toml: no such file/);
      const present = join(dir.path, "berthd.toml");
      writeFileSync(present, "max_concurrent_starts = 4\n");
      assert.equal(loadConfig({ file: present, explicit: true, stateDir: dir.path }).maxConcurrentStarts, 4);
    } finally {
      void dir.remove();
    }
  });
});
