// Bundles berthctl (the tsc output, dist/src/berthctl/main.js) and the parts of dbus-next it uses into
// one ES module, dist/berthctl.mjs, with esbuild: one file to read and compile instead of ~60 modules
// to resolve (ESM resolution, package.json lookups, realpath, CommonJS wrappers), which is most of what
// berthctl spends before its first D-Bus call (docs/performance.md). Subcommands stay lazily
// initialised inside the bundle. usocket (a native addon) and x11 (never used) stay outside and are
// found in node_modules next to dist/.
//
//   npm run build && node src/berthctl/bundle.mjs [outfile]      (default dist/berthctl.mjs)

import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const checkout = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const outfile = resolve(process.argv[2] ?? join(checkout, "dist/berthctl.mjs"));

await build({
  entryPoints: [join(checkout, "dist/src/berthctl/main.js")],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  external: ["usocket", "x11"],
  logLevel: "warning",
  // The bundle's CommonJS parts (dbus-next) call require() for externals and Node built-ins.
  banner: {
    js: 'import { createRequire as __berthRequire } from "node:module";\nconst require = __berthRequire(import.meta.url);',
  },
  plugins: [
    {
      // connection.ts loads dbus-next through createRequire (cheaper than import() unbundled); in the
      // bundle a plain require() lets esbuild include those modules.
      name: "berthctl-plain-require",
      setup(b) {
        b.onLoad({ filter: /berthctl[\\/]bus[\\/]connection\.js$/ }, async (args) => {
          const text = await readFile(args.path, "utf8");
          const contents = text.replace(/const require = createRequire\(import\.meta\.url\);/, "");
          if (contents === text) throw new Error(`${args.path}: the createRequire line to remove is gone`);
          return { contents, loader: "js" };
        });
      },
    },
  ],
});
process.stderr.write(`berthctl bundle: ${outfile}\n`);
