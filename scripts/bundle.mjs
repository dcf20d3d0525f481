// Bundles berthd and berthctl (the tsc output) with the parts of their npm dependencies they use into
// one ES module each, dist/berthd.mjs and dist/berthctl.mjs, with esbuild: one file to read and
// compile instead of ~220 modules to resolve (ESM resolution, package.json lookups, realpath,
// CommonJS wrappers), which is most of what berthd spends before recovery and berthctl before its
// first D-Bus call (docs/performance.md). The native addons (usocket, koffi) and x11 (never used) stay
// outside and are found in node_modules next to the bundles' directory. `npm run build` runs it.
//
//   node scripts/bundle.mjs [--from DIR] [--out DIR]
//
//   --from DIR  the tsc output holding src/berthd/main.js and src/berthctl/main.js (default: dist/)
//   --out DIR   where berthd.mjs and berthctl.mjs (and their .map files) go (default: the --from DIR)
//
// Each bundled module keeps seeing import.meta.url as the URL of its tsc output file under --out, so
// paths it computes from it (the checkout's shim, package.json) resolve as they do unbundled: --out
// must be laid out like the tsc output dir (src/ next to the bundles, package.json one level up).

import { readFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";

const checkout = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({ options: { from: { type: "string" }, out: { type: "string" } } });
const from = resolve(values.from ?? join(checkout, "dist"));
const out = resolve(values.out ?? from);

/** Rewrites what bundling would change in a module of the tsc output (see the header). */
const treePaths = {
  name: "tree-paths",
  setup(b) {
    b.onLoad({ filter: /\.js$/ }, async (args) => {
      if (relative(from, args.path).startsWith("..")) return undefined; // node_modules: as is
      let contents = await readFile(args.path, "utf8");
      // Modules that load dbus-next parts through createRequire (cheaper than import() unbundled) get
      // a plain require(), which esbuild bundles: one copy of dbus-next, so its instanceof checks
      // (Variant, Message) hold across modules.
      contents = contents.replace(/const require = createRequire\(import\.meta\.url\);/, "");
      const url = JSON.stringify(`./${relative(from, args.path)}`);
      contents = contents.replaceAll("import.meta.url", `new URL(${url}, import.meta.url).href`);
      return { contents, loader: "js" };
    });
  },
};

for (const name of ["berthd", "berthctl"]) {
  const outfile = join(out, `${name}.mjs`);
  await build({
    entryPoints: [join(from, `src/${name}/main.js`)],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    external: ["usocket", "koffi", "x11"],
    // --from may lie outside the checkout (packaging/build.sh compiles in a temp dir).
    nodePaths: [join(checkout, "node_modules")],
    // Not minified, with a linked map: a stack trace in the journal names functions and bundle lines,
    // and `node --enable-source-maps` maps them back to src/ when asked.
    sourcemap: "linked",
    logLevel: "warning",
    // The bundle's CommonJS parts (dbus-next, winston) call require() for externals and Node built-ins.
    banner: {
      js: 'import { createRequire as __berthRequire } from "node:module";\nconst require = __berthRequire(import.meta.url);',
    },
    plugins: [treePaths],
  });
  process.stderr.write(`bundle: ${outfile}\n`);
}
