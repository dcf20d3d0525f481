// The command-line parser: GNU-style long and short options, clustered short flags (-it), values as
// "--opt=v", "--opt v" or "-sV", and "--" to end options. A subcommand can stop option parsing after
// its Nth positional argument, so `exec ID sh -c ...` hands "-c" to the container, not to berthctl.

import { UsageError } from "./errors.js";

export interface OptionSpec {
  /** Long name without dashes; also the key in ParsedArgs.options. */
  name: string;
  short?: string;
  /** Takes a value (shown as this placeholder in help); a flag when absent. */
  value?: string;
  /** The option may repeat; its values collect in a list. */
  multiple?: boolean;
  help: string;
}

export interface ParsedArgs {
  options: Map<string, string | boolean | string[]>;
  positionals: string[];
}

export interface ParseRules {
  options: OptionSpec[];
  /** After this many positionals, everything left is positional (default: never stop). */
  stopAfterPositionals?: number;
}

export function parseArgs(argv: string[], rules: ParseRules): ParsedArgs {
  const options = new Map<string, string | boolean | string[]>();
  const positionals: string[] = [];
  const byLong = new Map(rules.options.map((o) => [o.name, o]));
  const byShort = new Map(rules.options.filter((o) => o.short).map((o) => [o.short!, o]));
  const stopAfter = rules.stopAfterPositionals ?? Number.POSITIVE_INFINITY;

  const store = (spec: OptionSpec, value: string | boolean) => {
    if (spec.multiple) {
      const list = (options.get(spec.name) as string[] | undefined) ?? [];
      list.push(value as string);
      options.set(spec.name, list);
    } else {
      options.set(spec.name, value);
    }
  };

  let i = 0;
  while (i < argv.length) {
    const arg = argv[i++]!;
    if (positionals.length >= stopAfter) {
      positionals.push(arg, ...argv.slice(i));
      break;
    }
    if (arg === "--") {
      positionals.push(...argv.slice(i));
      break;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const spec = byLong.get(name);
      if (!spec) throw new UsageError(`unknown option --${name}`);
      if (spec.value === undefined) {
        if (eq >= 0) throw new UsageError(`option --${name} takes no value`);
        store(spec, true);
      } else if (eq >= 0) {
        store(spec, arg.slice(eq + 1));
      } else {
        if (i >= argv.length) throw new UsageError(`option --${name} needs a value (${spec.value})`);
        store(spec, argv[i++]!);
      }
      continue;
    }
    if (arg.startsWith("-") && arg.length > 1) {
      for (let k = 1; k < arg.length; k++) {
        const letter = arg[k]!;
        const spec = byShort.get(letter);
        if (!spec) throw new UsageError(`unknown option -${letter}`);
        if (spec.value === undefined) {
          store(spec, true);
          continue;
        }
        const rest = arg.slice(k + 1);
        if (rest !== "") store(spec, rest);
        else if (i < argv.length) store(spec, argv[i++]!);
        else throw new UsageError(`option -${letter} needs a value (${spec.value})`);
        break;
      }
      continue;
    }
    positionals.push(arg);
  }
  return { options, positionals };
}

export function flag(args: ParsedArgs, name: string): boolean {
  return args.options.get(name) === true;
}

export function value(args: ParsedArgs, name: string): string | undefined {
  const v = args.options.get(name);
  return typeof v === "string" ? v : undefined;
}

export function values(args: ParsedArgs, name: string): string[] {
  const v = args.options.get(name);
  return Array.isArray(v) ? v : [];
}

/** Parses a non-negative integer option value, or throws a UsageError naming the option. */
export function integerValue(args: ParsedArgs, name: string): number | undefined {
  const raw = value(args, name);
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) throw new UsageError(`--${name} needs a non-negative integer, not "${raw}"`);
  return Number(raw);
}
