// berthd's configuration: a TOML file (default /etc/berth/berthd.toml; missing means defaults) merged
// over built-in defaults into a BerthdConfig. Every problem is refused with the file, the line where
// known, and the reason: a daemon must not start on a config it half understood.

import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import { delimiter, dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse, TomlError } from "smol-toml";
import type { BerthdConfig, CgroupDriver, LogDriver, RuntimeConfig } from "../common/types.js";
import { validateMaxConcurrentStarts } from "./validate.js";

export const DEFAULT_CONFIG_FILE = "/etc/berth/berthd.toml";
export const DEFAULT_STATE_DIR = "/run/berth";
export const INSTALLED_SHIM = "/usr/lib/berth/berth-shim";
export const DEFAULT_MAX_CONCURRENT_STARTS = 10;

const LOG_DRIVERS: readonly LogDriver[] = ["journald", "file", "none"];
const CGROUP_DRIVERS: readonly CgroupDriver[] = ["cgroupfs", "systemd"];
const TOP_LEVEL_KEYS = [
  "default_runtime",
  "default_log_driver",
  "max_concurrent_starts",
  "cgroup_driver",
  "shim_path",
  "runtimes",
];
const RUNTIME_KEYS = ["path", "args"];

/** A config file berthd refuses; the message names the file, the line where known, and the reason. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly reason: string,
  ) {
    super(`${file}${line === undefined ? "" : `:${line}`}: ${reason}`);
  }
}

export interface ConfigSource {
  /** The TOML file; undefined = DEFAULT_CONFIG_FILE. */
  file?: string;
  /** true when the file was named on the command line: then a missing file is an error. */
  explicit?: boolean;
  stateDir?: string;
}

/** The berth-shim next to this build (<checkout>/shim/berth-shim from dist/src/berthd/), else the installed one. */
export function defaultShimPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const built = resolve(here, "../../../shim/berth-shim");
  return existsSync(built) ? built : INSTALLED_SHIM;
}

function findInPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

/** systemd when a system manager runs (sd_booted's test), else cgroupfs. */
export function defaultCgroupDriver(): CgroupDriver {
  return existsSync("/run/systemd/system") ? "systemd" : "cgroupfs";
}

/** Pure cgroup v2 has cgroup.controllers at the root; hybrid and v1 hosts do not. */
function isCgroupV2(): boolean {
  return existsSync("/sys/fs/cgroup/cgroup.controllers");
}

/**
 * The runtimes found in PATH. The supervisor adds the systemd driver's flag itself. crun 1.8 cannot
 * drive v1 controllers with its cgroupfs manager, so on a hybrid/v1 host with the cgroupfs driver it
 * runs with cgroups disabled (runc handles v1 fine).
 */
function defaultRuntimes(cgroupDriver: CgroupDriver): RuntimeConfig[] {
  const runtimes: RuntimeConfig[] = [];
  const runc = findInPath("runc");
  if (runc !== undefined) runtimes.push({ name: "runc", path: runc, args: [] });
  const crun = findInPath("crun");
  if (crun !== undefined) {
    const args = cgroupDriver === "cgroupfs" && !isCgroupV2() ? ["--cgroup-manager=disabled"] : [];
    runtimes.push({ name: "crun", path: crun, args });
  }
  return runtimes;
}

/** The line of the first `key =` (or `[table]` header) in the text, for messages about a key. */
function lineOf(text: string, pattern: RegExp): number | undefined {
  const lines = text.split("\n");
  const index = lines.findIndex((line) => pattern.test(line));
  return index < 0 ? undefined : index + 1;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function keyLine(text: string, key: string): number | undefined {
  return lineOf(text, new RegExp(`^\\s*["']?${escapeRegExp(key)}["']?\\s*=`));
}

function tableLine(text: string, table: string): number | undefined {
  return lineOf(
    text,
    new RegExp(`^\\s*\\[\\s*${escapeRegExp(table).replace(/\\\./g, "\\s*\\.\\s*")}\\s*\\]`),
  );
}

function typeName(value: unknown): string {
  if (Array.isArray(value)) return "an array";
  if (value === null) return "null";
  if (typeof value === "object") return "a table";
  return `a ${typeof value}`;
}

/** Parses the TOML text of `file` over the defaults. Throws ConfigError. */
export function parseConfig(text: string, file: string, stateDir: string): BerthdConfig {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof TomlError) {
      const reason = error.message.split("\n")[0] ?? "invalid TOML";
      throw new ConfigError(file, error.line, reason.replace(/^Invalid TOML document: /, ""));
    }
    throw error;
  }
  const fail = (line: number | undefined, reason: string): never => {
    throw new ConfigError(file, line, reason);
  };
  for (const key of Object.keys(doc)) {
    if (!TOP_LEVEL_KEYS.includes(key))
      fail(keyLine(text, key) ?? tableLine(text, key), `unknown key "${key}"`);
  }
  const expectString = (key: string): string | undefined => {
    const value = doc[key];
    if (value === undefined) return undefined;
    if (typeof value !== "string")
      fail(keyLine(text, key), `"${key}" must be a string, not ${typeName(value)}`);
    return value as string;
  };

  const cgroupText = expectString("cgroup_driver");
  if (cgroupText !== undefined && !CGROUP_DRIVERS.includes(cgroupText as CgroupDriver)) {
    fail(keyLine(text, "cgroup_driver"), `"cgroup_driver" must be one of ${CGROUP_DRIVERS.join(", ")}`);
  }
  const cgroupDriver = (cgroupText as CgroupDriver | undefined) ?? defaultCgroupDriver();

  const logText = expectString("default_log_driver");
  if (logText !== undefined && !LOG_DRIVERS.includes(logText as LogDriver)) {
    fail(
      keyLine(text, "default_log_driver"),
      `"default_log_driver" must be one of ${LOG_DRIVERS.join(", ")}`,
    );
  }

  let maxConcurrentStarts = DEFAULT_MAX_CONCURRENT_STARTS;
  if (doc.max_concurrent_starts !== undefined) {
    const value = doc.max_concurrent_starts;
    const line = keyLine(text, "max_concurrent_starts");
    if (typeof value !== "number" && typeof value !== "bigint") {
      fail(line, `"max_concurrent_starts" must be an integer, not ${typeName(value)}`);
    }
    try {
      maxConcurrentStarts = validateMaxConcurrentStarts(Number(value));
    } catch (error) {
      fail(line, `"max_concurrent_starts": ${(error as Error).message}`);
    }
  }

  const shimText = expectString("shim_path");
  if (shimText !== undefined && !isAbsolute(shimText)) {
    fail(keyLine(text, "shim_path"), `"shim_path" must be an absolute path`);
  }

  let runtimes = defaultRuntimes(cgroupDriver);
  if (doc.runtimes !== undefined) {
    const table = doc.runtimes;
    if (typeof table !== "object" || table === null || Array.isArray(table)) {
      fail(keyLine(text, "runtimes"), `"runtimes" must be a table of [runtimes.NAME] tables`);
    }
    runtimes = [];
    for (const [name, entry] of Object.entries(table as Record<string, unknown>)) {
      const line = tableLine(text, `runtimes.${name}`) ?? keyLine(text, name);
      if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) fail(line, `runtime name "${name}" is not valid`);
      if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
        fail(line, `"runtimes.${name}" must be a table with "path" and optional "args"`);
      }
      const fields = entry as Record<string, unknown>;
      for (const key of Object.keys(fields)) {
        if (!RUNTIME_KEYS.includes(key)) fail(line, `unknown key "${key}" in [runtimes.${name}]`);
      }
      const path = fields.path;
      if (typeof path !== "string" || !isAbsolute(path)) {
        fail(line, `"runtimes.${name}.path" must be an absolute path`);
      }
      const args = fields.args ?? [];
      if (!Array.isArray(args) || args.some((arg) => typeof arg !== "string")) {
        fail(line, `"runtimes.${name}.args" must be an array of strings`);
      }
      runtimes.push({ name, path: path as string, args: args as string[] });
    }
  }

  const defaultRuntime = expectString("default_runtime") ?? runtimes[0]?.name;
  if (defaultRuntime === undefined) {
    fail(undefined, "no runtime configured and neither runc nor crun found in PATH");
  }
  if (!runtimes.some((runtime) => runtime.name === defaultRuntime)) {
    fail(
      keyLine(text, "default_runtime"),
      `default runtime "${defaultRuntime}" is not configured (configured: ${runtimes.map((r) => r.name).join(", ") || "none"})`,
    );
  }

  return {
    stateDir,
    runtimes,
    defaultRuntime: defaultRuntime as string,
    defaultLogDriver: (logText as LogDriver | undefined) ?? "file",
    maxConcurrentStarts,
    cgroupDriver,
    shimPath: shimText ?? defaultShimPath(),
  };
}

/** Reads and parses the config file (a missing default file means defaults). Throws ConfigError. */
export function loadConfig(source: ConfigSource = {}): BerthdConfig {
  const file = source.file ?? DEFAULT_CONFIG_FILE;
  const stateDir = resolve(source.stateDir ?? DEFAULT_STATE_DIR);
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" || source.explicit) {
      throw new ConfigError(file, undefined, code === "ENOENT" ? "no such file" : `cannot read: ${code}`);
    }
  }
  return parseConfig(text, file, stateDir);
}
