// The options create and run share, turned into CreateContainer's a{sv}.

import { resolve } from "node:path";
import type { CreateRequest } from "../api/client.js";
import { flag, type OptionSpec, type ParsedArgs, value, values } from "../cli/args.js";
import { UsageError } from "../cli/errors.js";

const LOG_DRIVERS = ["journald", "file", "none"];

export const CREATE_OPTIONS: OptionSpec[] = [
  {
    name: "runtime",
    value: "NAME",
    help: "the configured runtime to use (default: berthd's DefaultRuntime)",
  },
  { name: "label", short: "l", value: "KEY=VALUE", multiple: true, help: "add a label (repeatable)" },
  { name: "log-driver", value: "DRIVER", help: "journald, file or none (default: berthd's configuration)" },
  { name: "rm", help: "delete the container once it has exited (AutoRemove)" },
  { name: "interactive", short: "i", help: "keep the container's stdin open (Stdin)" },
];

export function createRequest(args: ParsedArgs): CreateRequest {
  const request: CreateRequest = {};
  const runtime = value(args, "runtime");
  if (runtime !== undefined) request.runtime = runtime;
  const labels = values(args, "label");
  if (labels.length > 0) {
    request.labels = {};
    for (const label of labels) {
      const eq = label.indexOf("=");
      if (eq <= 0) throw new UsageError(`--label needs KEY=VALUE, not "${label}"`);
      request.labels[label.slice(0, eq)] = label.slice(eq + 1);
    }
  }
  const logDriver = value(args, "log-driver");
  if (logDriver !== undefined) {
    if (!LOG_DRIVERS.includes(logDriver))
      throw new UsageError(`--log-driver must be one of ${LOG_DRIVERS.join(", ")}, not "${logDriver}"`);
    request.logDriver = logDriver;
  }
  if (flag(args, "rm")) request.autoRemove = true;
  if (flag(args, "interactive")) request.stdin = true;
  return request;
}

/** CreateContainer needs an absolute bundle path; a relative one is taken from the current directory. */
export function bundlePath(bundle: string): string {
  return resolve(bundle);
}
