#!/bin/sh
# Boots systemd as PID 1 of private pid + mount + uts + ipc + cgroup namespaces over an overlay of the
# host root (design.md, "The systemd sandbox"). Run by test/sandbox/sandbox.ts; see docs/systemd.md.
#
#   boot.sh outer DIR CHECKOUT   on the host: own cgroups, then unshare and re-run as "inner"
#   boot.sh inner DIR CHECKOUT   PID 1 of the new namespaces: build the root, pivot_root, exec systemd
#
# DIR is the sandbox's temp dir (mount points, the cgroup list, the shared dir); nothing is written
# outside it and the cgroups. CHECKOUT is bind-mounted at the same path inside.
set -eu
stage=$1 dir=$2 checkout=$3

case $stage in
outer)
  # One new cgroup per hierarchy, below the one we are in, and a cgroup namespace rooted there: systemd
  # inside takes it for the root of its tree, so two sandboxes never share a cgroup and the host's
  # tree is never written. The list is what the harness removes at teardown.
  name=$(basename "$dir")
  : >"$dir/cgroups"
  while IFS=: read -r _ controllers path; do
    case $controllers in
    "") mnt=unified ;;
    name=*) mnt=${controllers#name=} ;;
    *) mnt=$controllers ;;
    esac
    [ -d "/sys/fs/cgroup/$mnt" ] || continue
    cg="/sys/fs/cgroup/$mnt${path%/}/$name"
    mkdir "$cg"
    echo "$cg" >>"$dir/cgroups"
    # A new cpuset starts empty and takes no process until it has cpus and mems.
    if [ "$mnt" = cpuset ]; then
      cat "${cg%/*}/cpuset.cpus" >"$cg/cpuset.cpus"
      cat "${cg%/*}/cpuset.mems" >"$cg/cpuset.mems"
    fi
    echo $$ >"$cg/cgroup.procs"
  done </proc/self/cgroup
  exec unshare --pid --fork --kill-child --mount --uts --ipc --cgroup --propagation private \
    /bin/sh "$0" inner "$dir" "$checkout"
  ;;
inner) ;;
*)
  echo "boot.sh: unknown stage $stage" >&2
  exit 2
  ;;
esac

# A tmpfs holds the overlay's upper and work dirs: every write in the sandbox lands in memory and
# vanishes with the mount namespace.
mount -t tmpfs -o mode=0755 berth-sandbox "$dir/t"
mkdir "$dir/t/upper" "$dir/t/work" "$dir/t/root"
root=$dir/t/root
mount -t overlay -o "lowerdir=/,upperdir=$dir/t/upper,workdir=$dir/t/work" berth-sandbox "$root"

mount -t proc proc "$root/proc"
# Kernel settings are host-wide: systemd-sysctl and systemd-binfmt skip a read-only /proc/sys.
mount --bind "$root/proc/sys" "$root/proc/sys"
mount -o remount,bind,ro "$root/proc/sys"

mount --rbind /sys "$root/sys"
# The host's cgroup mounts show the host's whole tree; replace them with mounts made in the new cgroup
# namespace (rooted at our own cgroups), laid out like the host's: a tmpfs with one mount per v1
# hierarchy plus the v2 one at unified, which systemd reads as "hybrid".
umount -R "$root/sys/fs/cgroup"
mount -t tmpfs -o mode=0755,nosuid,nodev,noexec cgroup "$root/sys/fs/cgroup"
while IFS=: read -r _ controllers _; do
  case $controllers in
  "")
    mkdir "$root/sys/fs/cgroup/unified"
    mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$root/sys/fs/cgroup/unified"
    ;;
  name=*)
    mkdir "$root/sys/fs/cgroup/${controllers#name=}"
    mount -t cgroup -o "none,$controllers,nosuid,nodev,noexec" cgroup "$root/sys/fs/cgroup/${controllers#name=}"
    ;;
  *)
    mkdir "$root/sys/fs/cgroup/$controllers"
    mount -t cgroup -o "$controllers,nosuid,nodev,noexec" cgroup "$root/sys/fs/cgroup/$controllers"
    ;;
  esac
done </proc/self/cgroup

mount --rbind /dev "$root/dev"
# systemd writes its boot status to /dev/console: to the sandbox's console.log, not the host's console.
mount --bind "$dir/console.log" "$root/dev/console"
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$root/run"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/tmp"

# The checkout at its own path: the overlay's lower layer would show it too, but changes made to a
# lower layer while it is mounted are undefined, and tests inside must see the current build.
mkdir -p "$root$checkout"
mount --bind "$checkout" "$root$checkout"
# The shared dir, at the same path inside and out, for files handed to the sandbox (bundles).
mkdir -p "$root$dir/shared"
mount --bind "$dir/shared" "$root$dir/shared"

# Units with no place in a throwaway system: logins, periodic jobs, host services, and the ones that
# touch hardware or the kernel (modules, binfmt, pstore, debugfs and friends).
for unit in getty.target getty@.service console-getty.service serial-getty@.service \
  timers.target postgresql.service containerd.service docker.service systemd-timesyncd.service \
  e2scrub_reap.service systemd-pstore.service systemd-modules-load.service kmod-static-nodes.service \
  systemd-binfmt.service proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount \
  sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount sys-fs-fuse-connections.mount \
  dev-hugepages.mount systemd-tmpfiles-setup-dev.service systemd-firstboot.service systemd-repart.service systemd-pcrphase.service \
  systemd-pcrphase-sysinit.service systemd-journald-audit.socket systemd-remount-fs.service \
  cryptsetup.target integritysetup.target veritysetup.target; do
  ln -sf /dev/null "$root/etc/systemd/system/$unit"
done
for timer in "$root"/lib/systemd/system/*.timer "$root"/etc/systemd/system/timers.target.wants/*.timer; do
  [ -e "$timer" ] && ln -sf /dev/null "$root/etc/systemd/system/$(basename "$timer")"
done

# The host's kernel messages are no business of the sandbox's journal.
mkdir -p "$root/etc/systemd/journald.conf.d"
printf '[Journal]\nReadKMsg=no\n' >"$root/etc/systemd/journald.conf.d/berth-sandbox.conf"

mkdir -p "$root/oldroot"
cd "$root"
pivot_root . oldroot
umount -l /oldroot
rmdir /oldroot
cd /

export container=other
exec /lib/systemd/systemd --system --unit=basic.target
