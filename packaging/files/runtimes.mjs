// Prints the OCI runtimes berthd is configured with, one a line, fields separated by tabs:
//   NAME  PATH  GLOBAL-ARG...
// where the global args are the ones berthd itself passes (the configured args, plus the systemd
// cgroup driver's flag when that driver is chosen). It loads berthd's own config module, so it reads
// /etc/berth/berthd.toml and applies the defaults exactly as berthd does. Used by
// remove-all-containers (the package's prerm); exits non-zero with berthd's message when the
// configuration cannot be loaded.
import { loadConfig } from "./dist/src/berthd/config.js";
import { runtimeGlobalArgs } from "./dist/src/berthd/runtime/flavour.js";

try {
  const config = loadConfig();
  for (const runtime of config.runtimes) {
    const fields = [runtime.name, runtime.path, ...runtimeGlobalArgs(runtime, config.cgroupDriver)];
    if (fields.some((field) => /[\t\n]/.test(field)))
      throw new Error(`runtime ${runtime.name}: tab or newline`);
    process.stdout.write(`${fields.join("\t")}\n`);
  }
} catch (error) {
  process.stderr.write(`runtimes: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
