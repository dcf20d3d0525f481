// Input checks for everything a caller can hand the supervisor. Each runs BEFORE anything touches
// disk and throws InvalidArgumentError with a message that names the bad value and the rule.

import { readFile, stat } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import { InvalidArgumentError } from "../common/errors.js";
import type {
  BerthdConfig,
  CreateOptions,
  ExecSpec,
  KillWhom,
  LogDriver,
  RuntimeConfig,
} from "../common/types.js";
import { ID_PATTERN } from "../common/types.js";

export const MAX_CONFIG_BYTES = 1 << 20;
const LOG_DRIVERS: readonly LogDriver[] = ["journald", "file", "none"];

/** Shows a caller's value safely in a message: quoted, control characters escaped, bounded. */
function show(value: unknown): string {
  const text = JSON.stringify(typeof value === "string" ? value : String(value)) ?? "";
  return text.length > 80 ? `${text.slice(0, 77)}..."` : text;
}

export function validateId(id: unknown, what = "container id"): string {
  if (typeof id !== "string" || !ID_PATTERN.test(id)) {
    throw new InvalidArgumentError(
      `invalid ${what} ${show(id)}: use 1-64 characters from A-Z a-z 0-9 _ . -, starting with a letter or digit`,
    );
  }
  return id;
}

export function validateSignal(signal: unknown): number {
  if (typeof signal !== "number" || !Number.isInteger(signal) || signal < 1 || signal > 64) {
    throw new InvalidArgumentError(`invalid signal ${show(signal)}: use a number from 1 to 64`);
  }
  return signal;
}

export function validateWhom(whom: unknown): KillWhom {
  if (whom !== "init" && whom !== "all") {
    throw new InvalidArgumentError(`invalid kill target ${show(whom)}: use "init" or "all"`);
  }
  return whom;
}

export function validateSize(columns: unknown, rows: unknown): void {
  for (const [name, value] of [
    ["columns", columns],
    ["rows", rows],
  ] as const) {
    if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 65535) {
      throw new InvalidArgumentError(`invalid terminal ${name} ${show(value)}: use a number from 1 to 65535`);
    }
  }
}

export function validateMaxConcurrentStarts(value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 10000) {
    throw new InvalidArgumentError(
      `invalid MaxConcurrentStarts ${show(value)}: use a number from 1 to 10000`,
    );
  }
  return value;
}

/** The user's bundle: absolute, a directory, with a config.json of at most 1 MiB holding process and root. */
export async function validateBundle(bundle: unknown): Promise<Record<string, unknown>> {
  if (typeof bundle !== "string" || !isAbsolute(bundle)) {
    throw new InvalidArgumentError(`invalid bundle ${show(bundle)}: give an absolute path to a directory`);
  }
  const dirStat = await stat(bundle).catch(() => undefined);
  if (dirStat === undefined || !dirStat.isDirectory()) {
    throw new InvalidArgumentError(`bundle ${show(bundle)} is not a directory`);
  }
  const configPath = join(bundle, "config.json");
  const configStat = await stat(configPath).catch(() => undefined);
  if (configStat === undefined || !configStat.isFile()) {
    throw new InvalidArgumentError(`bundle ${show(bundle)} has no config.json`);
  }
  if (configStat.size > MAX_CONFIG_BYTES) {
    throw new InvalidArgumentError(
      `${configPath} is ${configStat.size} bytes: at most ${MAX_CONFIG_BYTES} (1 MiB) is accepted`,
    );
  }
  let config: unknown;
  try {
    config = JSON.parse(await readFile(configPath, "utf8"));
  } catch (error) {
    throw new InvalidArgumentError(`${configPath} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new InvalidArgumentError(`${configPath} is not a JSON object`);
  }
  const spec = config as Record<string, unknown>;
  const process = spec.process as Record<string, unknown> | undefined;
  if (typeof process !== "object" || process === null || !Array.isArray(process.args)) {
    throw new InvalidArgumentError(`${configPath} has no "process" object with "args"`);
  }
  const root = spec.root as Record<string, unknown> | undefined;
  if (typeof root !== "object" || root === null || typeof root.path !== "string" || root.path === "") {
    throw new InvalidArgumentError(`${configPath} has no "root" object with a "path"`);
  }
  return spec;
}

/** CreateOptions with every default filled in from the config. */
export interface ResolvedOptions {
  runtime: RuntimeConfig;
  stdin: boolean;
  labels: Record<string, string>;
  logDriver: LogDriver;
  autoRemove: boolean;
}

function optionalBoolean(options: CreateOptions, key: "stdin" | "autoRemove"): boolean {
  const value = options[key];
  if (value === undefined) return false;
  if (typeof value !== "boolean") throw new InvalidArgumentError(`option ${key} must be a boolean`);
  return value;
}

export function validateCreateOptions(options: CreateOptions, config: BerthdConfig): ResolvedOptions {
  const runtimeName = options.runtime ?? config.defaultRuntime;
  const runtime = config.runtimes.find((r) => r.name === runtimeName);
  if (runtime === undefined) {
    const known = config.runtimes.map((r) => r.name).join(", ");
    throw new InvalidArgumentError(`unknown runtime ${show(runtimeName)}: configured runtimes are ${known}`);
  }
  const logDriver = options.logDriver ?? config.defaultLogDriver;
  if (!LOG_DRIVERS.includes(logDriver)) {
    throw new InvalidArgumentError(`invalid log driver ${show(logDriver)}: use ${LOG_DRIVERS.join(", ")}`);
  }
  const labels = options.labels ?? {};
  if (typeof labels !== "object" || labels === null || Array.isArray(labels)) {
    throw new InvalidArgumentError("option Labels must be a string-to-string dictionary");
  }
  for (const [key, value] of Object.entries(labels)) {
    if (typeof value !== "string")
      throw new InvalidArgumentError(`label ${show(key)} must have a string value`);
  }
  return {
    runtime,
    stdin: optionalBoolean(options, "stdin"),
    labels: { ...labels },
    logDriver,
    autoRemove: optionalBoolean(options, "autoRemove"),
  };
}

function checkId(value: unknown, name: string): void {
  if (
    value !== undefined &&
    (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 0xffffffff)
  ) {
    throw new InvalidArgumentError(`exec ${name} ${show(value)} is not a valid id (0 to 4294967295)`);
  }
}

export function validateExecSpec(spec: ExecSpec): ExecSpec {
  if (!Array.isArray(spec.args) || spec.args.length === 0 || spec.args[0] === "") {
    throw new InvalidArgumentError("exec Args must name a program: give at least one non-empty argument");
  }
  if (!spec.args.every((a) => typeof a === "string"))
    throw new InvalidArgumentError("exec Args must be strings");
  if (
    spec.env !== undefined &&
    (!Array.isArray(spec.env) || !spec.env.every((e) => typeof e === "string" && e.includes("=")))
  ) {
    throw new InvalidArgumentError('exec Env entries must be "KEY=value" strings');
  }
  if (spec.cwd !== undefined && (typeof spec.cwd !== "string" || !spec.cwd.startsWith("/"))) {
    throw new InvalidArgumentError(`exec Cwd ${show(spec.cwd)} must be an absolute path`);
  }
  for (const key of ["terminal", "stdin"] as const) {
    if (spec[key] !== undefined && typeof spec[key] !== "boolean") {
      throw new InvalidArgumentError(`exec ${key === "terminal" ? "Terminal" : "Stdin"} must be a boolean`);
    }
  }
  checkId(spec.uid, "Uid");
  checkId(spec.gid, "Gid");
  return spec;
}
