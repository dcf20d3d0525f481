#!/usr/bin/env node
// Trims a production node_modules (from `npm ci --omit=dev`) to what berthd and berthctl load at run
// time, for the .deb. Usage: node packaging/prune-modules.mjs DIR   (DIR holds package.json and
// node_modules). Called by packaging/build.sh; prints one summary line.
//
// a. Keeps the packages reachable from package.json's dependencies, following each package's
//    dependencies and installed optionalDependencies the way Node resolves them (nearest
//    node_modules up the tree), minus build-only edges: usocket lists node-gyp and nan as
//    dependencies, but only its build uses them, and its addon is built by then.
// b. Keeps native prebuilds for this platform only: koffi ships one npm package per OS/CPU (npm
//    installs the matching one) holding a glibc and a musl build; the other libc's goes.
// c. Drops build leftovers of the native modules: usocket's build tree except the .node file and its
//    C++ source; koffi's C++ sources, vendored headers and docs; and every package's dotfiles.
// d. Checks that every .node file left is an ELF shared object for this CPU and this libc, and that
//    each native module has exactly one: a wrong or missing addon fails the build, not berthd.

import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";

/** Dependencies that a package declares but needs only to build its addon. */
const BUILD_ONLY = { usocket: ["node-gyp", "nan"] };
/** Paths (relative to the package) that only the build of a native module needs. */
const BUILD_LEFTOVERS = {
  usocket: ["src", "binding.gyp"],
  koffi: ["vendor", "lib", "doc", "src/koffi/CMakeLists.txt"],
};
/** C, C++ and assembly sources (koffi keeps its JavaScript next to them in src/). */
const NATIVE_SOURCE = /\.(c|cc|cpp|h|hh|hpp|inc|def|S|asm)$/;
/** Native modules (path prefixes under node_modules) that must keep exactly one .node file. */
const NATIVE = ["usocket/", "@koromix/koffi-"];
/** ELF e_machine for Node's process.arch. */
const ELF_MACHINE = {
  x64: 62,
  arm64: 183,
  ia32: 3,
  arm: 40,
  riscv64: 243,
  ppc64: 21,
  s390x: 22,
  loong64: 258,
};

const root = process.argv[2] ? resolve(process.argv[2]) : "";
if (!root || !existsSync(join(root, "node_modules"))) {
  console.error("usage: prune-modules.mjs DIR (DIR/node_modules from npm ci --omit=dev)");
  process.exit(2);
}
const modules = join(root, "node_modules");
const readJson = (file) => JSON.parse(readFileSync(file, "utf8"));
const libc = process.report.getReport().header.glibcVersionRuntime ? "glibc" : "musl";
const triplet = `${libc === "glibc" ? "linux" : "musl"}_${process.arch}`;

/** The package (or the root) whose node_modules holds the package in `dir`. */
function owner(dir) {
  let up = dirname(dir);
  if (basename(up).startsWith("@")) up = dirname(up);
  return dirname(up);
}

/** Node's lookup of `name` from the package in `fromDir`: fromDir/node_modules, then up to the root. */
function resolvePackage(name, fromDir) {
  for (let dir = fromDir; ; dir = owner(dir)) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return candidate;
    if (dir === root) return undefined;
  }
}

/** Every installed package directory (node_modules/x, node_modules/@s/x, nested ones too). */
function packageDirs(nodeModules) {
  const out = [];
  if (!existsSync(nodeModules)) return out;
  for (const entry of readdirSync(nodeModules)) {
    if (entry.startsWith(".")) continue;
    const path = join(nodeModules, entry);
    const inner = entry.startsWith("@") ? readdirSync(path).map((name) => join(path, name)) : [path];
    for (const dir of inner) {
      out.push(dir);
      out.push(...packageDirs(join(dir, "node_modules")));
    }
  }
  return out;
}

function walk(dir, out = []) {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) walk(path, out);
    else out.push(path);
  }
  return out;
}

function removeEmptyDirs(dir) {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) removeEmptyDirs(path);
  }
  if (dir !== modules && readdirSync(dir).length === 0) rmSync(dir, { recursive: true });
}

// a. The run-time closure.
const keep = new Set();
const queue = [[root, readJson(join(root, "package.json"))]];
while (queue.length > 0) {
  const [dir, pkg] = queue.shift();
  const skip = BUILD_ONLY[pkg.name] ?? [];
  const wanted = Object.keys(pkg.dependencies ?? {});
  const optional = Object.keys(pkg.optionalDependencies ?? {});
  for (const name of [...wanted, ...optional]) {
    if (skip.includes(name)) continue;
    const found = resolvePackage(name, dir);
    if (found === undefined) {
      if (wanted.includes(name)) throw new Error(`${pkg.name}: dependency ${name} is not installed`);
      continue; // an optional dependency for another platform
    }
    if (keep.has(found)) continue;
    keep.add(found);
    queue.push([found, readJson(join(found, "package.json"))]);
  }
}
let removed = 0;
for (const dir of packageDirs(modules)) {
  if (!keep.has(dir) && existsSync(dir)) {
    rmSync(dir, { recursive: true, force: true });
    removed++;
  }
}
// .bin links to removed tools; npm's hidden lockfile would describe a tree that is no longer there.
rmSync(join(modules, ".bin"), { recursive: true, force: true });
rmSync(join(modules, ".package-lock.json"), { force: true });

// b and c.
for (const dir of packageDirs(modules)) {
  const name = readJson(join(dir, "package.json")).name;
  if (name.startsWith("@koromix/koffi-")) {
    for (const entry of readdirSync(dir)) {
      const sub = join(dir, entry);
      if (statSync(sub).isDirectory() && entry !== triplet) rmSync(sub, { recursive: true });
    }
  }
  for (const path of BUILD_LEFTOVERS[name] ?? []) rmSync(join(dir, path), { recursive: true, force: true });
  if (name === "koffi") {
    for (const file of walk(join(dir, "src"))) if (NATIVE_SOURCE.test(file)) rmSync(file);
  }
  if (name === "usocket" && existsSync(join(dir, "build"))) {
    for (const file of walk(join(dir, "build"))) {
      if (!file.endsWith(".node") || file.includes("/obj.target/")) rmSync(file);
    }
  }
}
// Dotfiles of the packages (.npmignore, .eslintrc, .gitattributes, .github/ ...): tooling, never loaded.
for (const dir of packageDirs(modules)) {
  for (const entry of readdirSync(dir))
    if (entry.startsWith(".")) rmSync(join(dir, entry), { recursive: true });
}
removeEmptyDirs(modules);

// d.
const machine = ELF_MACHINE[process.arch];
const natives = walk(modules).filter((file) => file.endsWith(".node"));
for (const file of natives) {
  const bytes = readFileSync(file);
  const what = relative(root, file);
  if (bytes.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${what}: not an ELF file`);
  if (bytes.readUInt16LE(18) !== machine) throw new Error(`${what}: built for another CPU`);
  const musl = bytes.includes("libc.musl-");
  if (musl !== (libc === "musl"))
    throw new Error(`${what}: built for ${musl ? "musl" : "glibc"}, not ${libc}`);
}
for (const prefix of NATIVE) {
  const count = natives.filter((file) => relative(modules, file).startsWith(prefix)).length;
  if (count !== 1) throw new Error(`${prefix}: expected one native addon, found ${count}`);
}

console.log(
  `prune-modules: ${keep.size} packages kept, ${removed} build-only removed; native: ${natives.map((f) => relative(modules, f)).join(", ")}`,
);
