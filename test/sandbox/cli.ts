// The sandbox from a shell, for the demo and for poking around by hand:
//   node dist/test/sandbox/cli.js up                 boots one; prints its dir (the handle) and bus address
//   node dist/test/sandbox/cli.js exec DIR CMD ARGS  runs a command inside; exits with its status
//   node dist/test/sandbox/cli.js down DIR           tears it down

import { Sandbox } from "./sandbox.js";

async function main(argv: string[]): Promise<number> {
  const [command, dir, ...rest] = argv;
  if (command === "up" && dir === undefined) {
    const sandbox = new Sandbox();
    await sandbox.up();
    // Handed over to the caller: this process exits without tearing it down.
    process.stdout.write(`${sandbox.dir}\n`);
    process.stderr.write(`sandbox: up, PID 1 is ${sandbox.pid}, system bus ${sandbox.busAddress}\n`);
    Sandbox.release(sandbox);
    return 0;
  }
  if (command === "exec" && dir !== undefined && rest.length > 0) {
    const [cmd, ...args] = rest as [string, ...string[]];
    const result = await Sandbox.attach(dir).exec(cmd, args, { input: "" });
    process.stdout.write(result.stdout);
    process.stderr.write(result.stderr);
    return result.code;
  }
  if (command === "down" && dir !== undefined && rest.length === 0) {
    await Sandbox.attach(dir).down();
    return 0;
  }
  process.stderr.write("usage: cli.js up | exec DIR CMD [ARGS...] | down DIR\n");
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
