// Decoding the a{sv} dictionaries callers send (CreateContainer options, Exec's process) into the
// supervisor's types. Only the D-Bus shape is checked here: unknown keys and wrong variant types are
// InvalidArgument naming the key; the supervisor checks the values themselves.

import { InvalidArgumentError } from "../../common/errors.js";
import type { CreateOptions, ExecSpec } from "../../common/types.js";

interface VariantLike {
  signature: string;
  value: unknown;
}

/** Key → [D-Bus type, field of the decoded object]. */
type Schema<T> = Record<string, readonly [string, keyof T]>;

const CREATE_OPTIONS: Schema<CreateOptions> = {
  Runtime: ["s", "runtime"],
  Stdin: ["b", "stdin"],
  Labels: ["a{ss}", "labels"],
  LogDriver: ["s", "logDriver"],
  AutoRemove: ["b", "autoRemove"],
};

const EXEC_PROCESS: Schema<ExecSpec> = {
  Args: ["as", "args"],
  Env: ["as", "env"],
  Cwd: ["s", "cwd"],
  Terminal: ["b", "terminal"],
  Stdin: ["b", "stdin"],
  Uid: ["u", "uid"],
  Gid: ["u", "gid"],
};

function decode<T>(dict: unknown, schema: Schema<T>, what: string): Partial<T> {
  const out: Partial<T> = {};
  const known = Object.keys(schema).join(", ");
  for (const [key, variant] of Object.entries(dict as Record<string, VariantLike>)) {
    const entry = schema[key];
    if (entry === undefined) {
      throw new InvalidArgumentError(`unknown ${what} key ${JSON.stringify(key)} (known: ${known})`);
    }
    const [type, field] = entry;
    if (variant.signature !== type) {
      throw new InvalidArgumentError(
        `${what} key "${key}" must be of type "${type}", not "${variant.signature}"`,
      );
    }
    out[field] = variant.value as T[keyof T];
  }
  return out;
}

/** CreateContainer / RunContainer options. */
export function decodeCreateOptions(dict: unknown): CreateOptions {
  return decode(dict, CREATE_OPTIONS, "option");
}

/** Exec's process dictionary; Args is required. */
export function decodeExecSpec(dict: unknown): ExecSpec {
  const spec = decode(dict, EXEC_PROCESS, "process");
  if (spec.args === undefined) throw new InvalidArgumentError(`process key "Args" (as) is required`);
  return { ...spec, args: spec.args };
}
