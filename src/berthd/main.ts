#!/usr/bin/env node
// berthd: the berth container supervisor. Parses the command line and runs the Daemon until
// SIGTERM/SIGINT; every failure ends as one clear line on stderr and a non-zero exit, never a trace.

import { parseArgs } from "node:util";
import { systemBusAddress } from "../common/bus.js";
import { VERSION } from "../common/version.js";
import { DEFAULT_CONFIG_FILE, DEFAULT_STATE_DIR } from "./config.js";
import { Daemon } from "./daemon.js";
import { createLogger } from "./log.js";
import { installTestHooks } from "./test-hooks.js";

const HELP = `Usage: berthd [OPTIONS]

The berth container supervisor: drives OCI runtimes (runc, crun) through one berth-shim per
container process, keeps its state under the state directory, and serves the D-Bus API
org.berth.Supervisor1 (see docs/api.md).

Options:
  --bus-address ADDR  the D-Bus bus to serve on
                      (default: $DBUS_SYSTEM_BUS_ADDRESS, else the system bus)
  --state-dir DIR     the state directory (default: ${DEFAULT_STATE_DIR})
  --config FILE       the configuration file (default: ${DEFAULT_CONFIG_FILE};
                      a missing default file means built-in defaults)
  --help              show this help and exit
  --version           show the version and exit

Signals: SIGTERM/SIGINT stop berthd (containers keep running); SIGHUP reloads the
configuration (a bad file is logged and the old configuration kept).
Environment: BERTHD_LOG_LEVEL (error, warn, info, verbose, debug; default info).
`;

function usageError(message: string): never {
  process.stderr.write(`berthd: ${message}\nTry 'berthd --help'.\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  let values: { [key: string]: string | boolean | undefined };
  try {
    ({ values } = parseArgs({
      options: {
        "bus-address": { type: "string" },
        "state-dir": { type: "string" },
        config: { type: "string" },
        help: { type: "boolean" },
        version: { type: "boolean" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    usageError((error as Error).message);
  }
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  if (values.version) {
    process.stdout.write(`berthd ${VERSION}\n`);
    return;
  }
  installTestHooks(createLogger()); // off unless BERTHD_TEST_HOOKS=1 (test/systemd/ only)
  const daemon = new Daemon({
    busAddress: (values["bus-address"] as string | undefined) ?? systemBusAddress(),
    stateDir: (values["state-dir"] as string | undefined) ?? DEFAULT_STATE_DIR,
    configFile: (values.config as string | undefined) ?? DEFAULT_CONFIG_FILE,
    configExplicit: values.config !== undefined,
  });
  const exitCode = await daemon.run();
  // Exit now, not when the event loop drains: a runtime call or a shim's first process that is still
  // running must not keep a stopped berthd alive (systemd would wait TimeoutStopSec and SIGKILL it).
  // Their work is finished by the shim and picked up by the next berthd's recovery.
  process.exit(exitCode);
}

main().catch((error: unknown) => {
  process.stderr.write(`berthd: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
