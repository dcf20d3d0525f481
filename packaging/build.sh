#!/usr/bin/env bash
# Builds berth's Debian package with dpkg-deb (no debhelper) from this checkout and prints its path
# as the last line on stdout; progress goes to stderr. `npm run package` runs it.
#
#   bash packaging/build.sh [--version V] [--out DIR]
#
#   --version V   the package version (default: package.json's); it is also the version in the
#                 package's package.json, so berthd reports it (the Version property)
#   --out DIR     where the .deb goes (default: packaging/out); the work dir is made inside it
#
# Everything is built from source into a private work dir, so a concurrent build of dist/ or shim/
# by someone else never leaks half-written files into the package: src/ is compiled with
# packaging/tsconfig.json, the shim is compiled from a copy of shim/, and node_modules comes from
# `npm ci --omit=dev` (cached in packaging/out/cache, keyed by the lockfile and Node's ABI) trimmed by
# prune-modules.mjs. What goes where: docs/packaging.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
checkout=$(dirname "$here")
version=""
out="$here/out"

usage() {
	echo "usage: bash packaging/build.sh [--version V] [--out DIR]" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case "$1" in
	--version)
		[ $# -ge 2 ] || usage
		version=$2
		shift 2
		;;
	--out)
		[ $# -ge 2 ] || usage
		out=$2
		shift 2
		;;
	-h | --help) usage ;;
	*) usage ;;
	esac
done

say() { printf 'package: %s\n' "$*" >&2; }
die() {
	printf 'package: error: %s\n' "$*" >&2
	exit 1
}

for tool in dpkg-deb dpkg-shlibdeps dpkg-architecture strip node npm make gcc; do
	command -v "$tool" >/dev/null || die "$tool is missing (apt-get install dpkg-dev binutils gcc make nodejs)"
done
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || die "Node $node_major: berth needs Node 20 or later"
[ -n "$version" ] || version=$(node -p 'require(process.argv[1]).version' "$checkout/package.json")
[[ "$version" =~ ^[0-9][A-Za-z0-9.+~]*$ ]] ||
	die "version \"$version\" is not a native Debian version (digits first; letters, digits, . + ~)"
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "$out/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
root="$work/root"
lib="$root/usr/lib/berth"
mkdir -p "$lib" "$root/DEBIAN"

# 1. berthd and berthctl: src/ compiled on its own (no tests, no source maps), then bundled into
#    dist/berthd.mjs and dist/berthctl.mjs, which the launchers run. dist/src stays for runtimes.mjs.
say "compiling src/ (tsc) and bundling (esbuild)"
"$checkout/node_modules/.bin/tsc" -p "$here/tsconfig.json" --outDir "$work/tsc"
mkdir -p "$lib/dist"
cp -a "$work/tsc/src" "$lib/dist/src"
node "$checkout/scripts/bundle.mjs" --from "$work/tsc" --out "$lib/dist" 2>&1 | sed 's/^/package: /' >&2

# 2. The shim, from a copy of its sources; stripped (it is not linked against anything berth ships).
say "compiling berth-shim"
mkdir -p "$work/shim"
cp "$checkout"/shim/*.c "$checkout"/shim/*.h "$checkout/shim/Makefile" "$work/shim/"
make -s -C "$work/shim" berth-shim >&2
install -m 0755 "$work/shim/berth-shim" "$lib/berth-shim"
strip --strip-unneeded "$lib/berth-shim"

# 3. Production node_modules, cached per lockfile + Node ABI (native addons are built for it).
abi=$(node -p 'process.versions.modules + "-" + process.arch')
key=$(cat "$checkout/package-lock.json" "$here/prune-modules.mjs" | sha256sum | cut -c1-16)
cache="$out/cache/modules-$abi-$key"
if [ ! -d "$cache/node_modules" ]; then
	say "npm ci --omit=dev (cached afterwards in ${cache#"$checkout"/})"
	mkdir -p "$out/cache"
	fresh=$(mktemp -d "$out/cache/fresh.XXXXXX")
	cp "$checkout/package.json" "$checkout/package-lock.json" "$fresh/"
	(cd "$fresh" && npm ci --omit=dev --no-audit --no-fund --loglevel=error >&2)
	node "$here/prune-modules.mjs" "$fresh" >&2
	rm -f "$fresh/package.json" "$fresh/package-lock.json"
	# Another build may have filled the cache meanwhile: theirs is as good as ours.
	mv -T "$fresh" "$cache" 2>/dev/null || rm -rf "$fresh"
	# Caches of other lockfiles or Node versions are stale now.
	find "$out/cache" -mindepth 1 -maxdepth 1 -name 'modules-*' ! -name "${cache##*/}" -exec rm -rf {} +
fi
cp -a "$cache/node_modules" "$lib/node_modules"
find "$lib/node_modules" -name '*.node' -exec strip --strip-unneeded {} +

# The package's package.json: what Node needs (ESM) and what berthd reads (its version).
node -e '
  const [from, to, version] = process.argv.slice(1);
  const pkg = require(from);
  const out = { name: pkg.name, version, description: pkg.description, license: pkg.license,
    private: true, type: pkg.type, engines: pkg.engines, dependencies: pkg.dependencies };
  require("fs").writeFileSync(to, JSON.stringify(out, null, 2) + "\n");
' "$checkout/package.json" "$lib/package.json" "$version"

# 4. Launchers and the removal helpers.
install -m 0755 "$here/files/berthd" "$lib/berthd"
install -m 0755 "$here/files/remove-all-containers" "$lib/remove-all-containers"
install -m 0644 "$here/files/runtimes.mjs" "$lib/runtimes.mjs"
install -D -m 0755 "$here/files/berthctl" "$root/usr/bin/berthctl"

# 5. systemd, D-Bus, polkit, completion (the install map of docs/systemd.md; units in /lib as
#    Debian 12's debhelper puts them: the same directory as /usr/lib/systemd/system on merged /usr).
inst() { install -D -m 0644 "$checkout/$1" "$root/$2"; }
inst systemd/berthd.service lib/systemd/system/berthd.service
inst systemd/berthd.socket lib/systemd/system/berthd.socket
inst systemd/berth.slice lib/systemd/system/berth.slice
inst systemd/tmpfiles.d/berth.conf usr/lib/tmpfiles.d/berth.conf
inst dbus/org.berth.Supervisor1.conf usr/share/dbus-1/system.d/org.berth.Supervisor1.conf
inst dbus/org.berth.Supervisor1.service usr/share/dbus-1/system-services/org.berth.Supervisor1.service
for xml in "$checkout"/dbus/*.xml; do
	inst "dbus/${xml##*/}" "usr/share/dbus-1/interfaces/${xml##*/}"
done
inst packaging/polkit/org.berth.supervisor1.policy usr/share/polkit-1/actions/org.berth.supervisor1.policy
inst packaging/bash-completion/berthctl usr/share/bash-completion/completions/berthctl

# 6. Documentation: README, docs/*.md (systemd.md is the units' Documentation=, so uncompressed),
#    copyright (berth's and every bundled npm package's), changelog.
doc="$root/usr/share/doc/berth"
mkdir -p "$doc"
install -m 0644 "$checkout/README.md" "$checkout"/docs/*.md "$doc/"
[ -f "$doc/systemd.md" ] || die "docs/systemd.md is missing (the units' Documentation= points at it)"
node --input-type=module - "$lib/node_modules" >"$doc/copyright" <<'EOF'
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
const modules = process.argv[2];
const out = [
  "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/",
  "Upstream-Name: berth",
  "Comment: berth bundles the npm packages that berthd and berthctl load at run time under",
  " /usr/lib/berth/node_modules; each one's own license text is in its directory there.",
  "",
  "Files: *",
  `Copyright: ${new Date().getUTCFullYear()} the berth authors`,
  "License: Apache-2.0",
  " On Debian systems the full text of the Apache License, Version 2.0 is in",
  " /usr/share/common-licenses/Apache-2.0.",
];
const dirs = [];
for (const entry of readdirSync(modules).sort()) {
  if (entry.startsWith(".")) continue;
  if (entry.startsWith("@")) for (const name of readdirSync(join(modules, entry)).sort()) dirs.push(`${entry}/${name}`);
  else dirs.push(entry);
}
const person = (p) => (typeof p === "string" ? p : p?.name ? `${p.name}${p.email ? ` <${p.email}>` : ""}` : undefined);
for (const dir of dirs) {
  const pkg = JSON.parse(readFileSync(join(modules, dir, "package.json"), "utf8"));
  const license = typeof pkg.license === "string" ? pkg.license : (pkg.license?.type ?? "see the package");
  const texts = readdirSync(join(modules, dir)).filter((f) => /^(licen[cs]e|copying)/i.test(f));
  out.push(
    "",
    `Files: usr/lib/berth/node_modules/${dir}/*`,
    `Copyright: ${person(pkg.author) ?? `the authors of ${pkg.name}`}`,
    `License: ${license}`,
    ` ${pkg.name} ${pkg.version}; license text: ${
      texts.length > 0 ? texts.map((f) => `/usr/lib/berth/node_modules/${dir}/${f}`).join(", ") : `the "${license}" license`
    }.`,
  );
}
process.stdout.write(`${out.join("\n")}\n`);
EOF
commit=$(git -C "$checkout" rev-parse --short HEAD 2>/dev/null || echo unknown)
# The package is built from the working tree: say so when it differs from the commit.
if [ -n "$(git -C "$checkout" status --porcelain --untracked-files=no -- src scripts/bundle.mjs shim systemd dbus packaging \
	README.md docs package.json package-lock.json 2>/dev/null)" ]; then
	commit="$commit (with uncommitted changes)"
	say "note: building from a working tree with uncommitted changes"
fi
epoch=$(git -C "$checkout" log -1 --format=%ct 2>/dev/null || date +%s)
if [ -z "${BERTH_MAINTAINER:-}" ] && name=$(git -C "$checkout" config user.name) &&
	mail=$(git -C "$checkout" config user.email); then
	BERTH_MAINTAINER="$name <$mail>"
fi
maintainer=${BERTH_MAINTAINER:-berth maintainers <berth@localhost>}
{
	printf 'berth (%s) unstable; urgency=medium\n\n' "$version"
	printf '  * Built from git commit %s.\n\n' "$commit"
	printf ' -- %s  %s\n' "$maintainer" "$(date -R -u -d "@$epoch")"
} | gzip -9n >"$doc/changelog.gz"

# 7. Control: dependencies. Node: usocket's addon is built against this Node's ABI (it uses NAN,
#    not Node-API), so the package works with this major version only. Libraries: dpkg-shlibdeps on
#    every ELF file; libsystemd0 is loaded by berthd at run time (koffi), which no ELF header says.
#    init-system-helpers (deb-systemd-helper/-invoke in the maintainer scripts) is Essential.
say "computing dependencies"
mkdir -p "$work/shlibs/debian"
printf 'Source: berth\n\nPackage: berth\nArchitecture: any\n' >"$work/shlibs/debian/control"
mapfile -t elves < <(find "$root" -type f \( -name '*.node' -o -name berth-shim \))
shlibs=$(cd "$work/shlibs" && dpkg-shlibdeps -O --warnings=0 "${elves[@]}" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || die "dpkg-shlibdeps found no library dependency"
depends="nodejs (>= $node_major), nodejs (<< $((node_major + 1))), runc | crun, dbus, libsystemd0, $shlibs"

for script in postinst prerm postrm; do
	install -m 0755 "$here/debian/$script" "$root/DEBIAN/$script"
done

# Modes: directories 0755, files 0644, except what must run.
find "$root" -type d -exec chmod 0755 {} +
find "$root" -type f ! -path "$root/DEBIAN/*" -exec chmod 0644 {} +
chmod 0755 "$lib/berthd" "$lib/berth-shim" "$lib/remove-all-containers" "$root/usr/bin/berthctl"
# Scripts with a #! line (berthd's and berthctl's main.js, a few in node_modules) may run as such.
find "$lib" -type f -name '*.*js' -exec sh -c 'for f; do [ "$(head -c2 "$f")" = "#!" ] && chmod 0755 "$f"; done; true' sh {} +

(cd "$root" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@MAINTAINER@|$maintainer|" \
	-e "s|@INSTALLED_SIZE@|$size|" -e "s/@DEPENDS@/$depends/" "$here/debian/control.in" >"$root/DEBIAN/control"

# Timestamps: the commit's, so two builds of one commit differ only by what they contain.
find "$root" -exec touch -h -d "@$epoch" {} +
deb="$out/berth_${version}_${arch}.deb"
say "dpkg-deb --build"
SOURCE_DATE_EPOCH=$epoch dpkg-deb --root-owner-group -Zxz --build "$root" "$work/berth.deb" >&2
mv -f "$work/berth.deb" "$deb"
say "$(du -h "$deb" | cut -f1) $(dpkg-deb -f "$deb" Package Version Architecture | tr '\n' ' ')"
echo "$deb"
