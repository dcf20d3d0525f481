// request.json: what CreateContainer (or Exec) was given, written before the shim starts, never
// changed after. It is the proof that berthd meant this container: a dir without it is debris.

import { join } from "node:path";
import type { LogDriver, Micros } from "../../common/types.js";
import { readJsonIfExists, writeJsonAtomic } from "./atomic.js";
import { FILES } from "./layout.js";

export interface ContainerRequest {
  id: string;
  /** The user's bundle, as given (the Bundle property); the runtime runs berthd's copy in the state dir. */
  bundle: string;
  runtime: string;
  terminal: boolean;
  stdin: boolean;
  labels: Record<string, string>;
  logDriver: LogDriver;
  logPath: string;
  autoRemove: boolean;
  createdAt: Micros;
}

export interface ProcessRequest {
  containerId: string;
  id: string;
  terminal: boolean;
  stdin: boolean;
  createdAt: Micros;
}

export function writeRequest(dir: string, request: ContainerRequest | ProcessRequest): Promise<void> {
  return writeJsonAtomic(join(dir, FILES.request), request);
}

function field<T>(raw: Record<string, unknown>, key: string, type: string, fallback?: T): T {
  const value = raw[key];
  if (typeof value === type) return value as T;
  if (value === undefined && fallback !== undefined) return fallback;
  throw new Error(`${FILES.request}: "${key}" is not a ${type}`);
}

function micros(raw: Record<string, unknown>, key: string): Micros {
  const value = raw[key];
  if (typeof value === "string" && /^\d+$/.test(value)) return BigInt(value);
  if (typeof value === "number" && Number.isInteger(value)) return BigInt(value);
  throw new Error(`${FILES.request}: "${key}" is not a timestamp`);
}

function readRaw(dir: string): Record<string, unknown> | undefined {
  const raw = readJsonIfExists(join(dir, FILES.request));
  if (raw === undefined) return undefined;
  if (typeof raw !== "object" || raw === null) throw new Error(`${FILES.request} is not a JSON object`);
  return raw as Record<string, unknown>;
}

/** The container's request, or undefined when the dir has none (a create that crashed early). */
export function readContainerRequest(dir: string): ContainerRequest | undefined {
  const raw = readRaw(dir);
  if (raw === undefined) return undefined;
  const labels = field<Record<string, unknown>>(raw, "labels", "object", {});
  return {
    id: field(raw, "id", "string"),
    bundle: field(raw, "bundle", "string"),
    runtime: field(raw, "runtime", "string"),
    terminal: field(raw, "terminal", "boolean", false),
    stdin: field(raw, "stdin", "boolean", false),
    labels: Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, String(v)])),
    logDriver: field(raw, "logDriver", "string"),
    logPath: field(raw, "logPath", "string", ""),
    autoRemove: field(raw, "autoRemove", "boolean", false),
    createdAt: micros(raw, "createdAt"),
  };
}

export function readProcessRequest(dir: string): ProcessRequest | undefined {
  const raw = readRaw(dir);
  if (raw === undefined) return undefined;
  return {
    containerId: field(raw, "containerId", "string"),
    id: field(raw, "id", "string"),
    terminal: field(raw, "terminal", "boolean", false),
    stdin: field(raw, "stdin", "boolean", false),
    createdAt: micros(raw, "createdAt"),
  };
}
