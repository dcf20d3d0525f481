// What berthd needs from libc that Node does not expose (through koffi): close-on-exec for the fds
// native modules open without it, a close-on-exec dup, SO_PEERCRED, a non-blocking read that reports
// "nothing yet" without an exception, and mkfifo (a `mkfifo` process would be a fork of berthd, which
// leaves forking to its launcher: shim/launcher.ts).
//
// Node opens its own fds with O_CLOEXEC; usocket (the D-Bus connections' sockets, and the private-socket
// connections berthd adopts) does not. Every child would inherit such an fd: a shim used to keep
// berthd's bus connection, and so its bus name, alive after berthd was SIGKILLed. berthd marks each one
// once, where it is made, rather than walking /proc/self/fd before every spawn (204 fcntl calls a
// start, 5-8 ms with 1000 containers); the shim also closes whatever it inherits (shim/util.c).

import { closeSync } from "node:fs";
import koffi from "koffi";
import { connectionStream, type MessageBus } from "../common/bus.js";

const F_DUPFD_CLOEXEC = 1030;
const F_GETFD = 1;
const F_SETFD = 2;
const FD_CLOEXEC = 1;
const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
const EAGAIN = 11;

interface LibC {
  fcntl(fd: number, command: number, argument: number): number;
  mkfifo(path: string, mode: number): number;
  strerror(errno: number): string;
  getsockopt(fd: number, level: number, name: number, value: Buffer, length: number[]): number;
  read(fd: number, buffer: Buffer, count: number): number;
}

let libc: LibC | undefined;

function lib(): LibC {
  if (libc === undefined) {
    const handle = koffi.load("libc.so.6");
    libc = {
      fcntl: handle.func("int fcntl(int fd, int cmd, int arg)"),
      mkfifo: handle.func("int mkfifo(const char *path, uint32_t mode)"),
      strerror: handle.func("const char *strerror(int errnum)"),
      getsockopt: handle.func(
        "int getsockopt(int fd, int level, int name, _Out_ uint8_t *value, _Inout_ uint32_t *length)",
      ),
      read: handle.func("long read(int fd, _Out_ uint8_t *buffer, size_t count)"),
    };
  }
  return libc;
}

/** Sets FD_CLOEXEC on fd; throws when fcntl fails. */
/** Closes each fd, ignoring one already closed: our copies of fds a message carried or failed to carry. */
export function closeAll(fds: number[]): void {
  for (const fd of fds) {
    try {
      closeSync(fd);
    } catch {}
  }
}

export function markCloseOnExec(fd: number): void {
  const { fcntl } = lib();
  const flags = fcntl(fd, F_GETFD, 0);
  if (flags < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0) {
    throw new Error(`fcntl(${fd}, F_SETFD, FD_CLOEXEC) failed`);
  }
}

/** Makes a FIFO at `path` with `mode` (less the umask); throws naming the path and libc's reason. */
export function makeFifo(path: string, mode: number): void {
  const { mkfifo, strerror } = lib();
  if (mkfifo(path, mode) < 0) throw new Error(`mkfifo ${path}: ${strerror(koffi.errno())}`);
}

/** Marks the socket under a dbus-next connection made with fd passing (a usocket) close-on-exec. */
export function markBusCloseOnExec(bus: MessageBus): void {
  const fd = (connectionStream(bus) as unknown as { fd?: unknown } | undefined)?.fd;
  if (typeof fd !== "number" || fd < 0) throw new Error("the bus connection has no socket fd to mark");
  markCloseOnExec(fd);
}

/**
 * A close-on-exec duplicate of `fd` (so usocket, which can pass fds with SCM_RIGHTS, can own a
 * connection that net.Server accepted: usocket's own server cannot listen on a socket-activated fd).
 */
export function dupFd(fd: number): number {
  const copy = lib().fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (copy < 0) throw new Error(`fcntl(${fd}, F_DUPFD_CLOEXEC) failed`);
  return copy;
}

/**
 * One read(2) of at most a byte from a non-blocking fd: 1 (data), 0 (end of file) or -1 (nothing
 * yet: EAGAIN); throws on other errors. fs.readSync throws on EAGAIN, and that exception costs ≈ 50×
 * this call: a restart checks every shim's exit.fifo so (shim/exit-watch.ts).
 */
export function readByte(fd: number): number {
  const count = lib().read(fd, Buffer.alloc(1), 1);
  if (count >= 0) return count;
  const errno = koffi.errno();
  if (errno === EAGAIN) return -1;
  throw new Error(`read(${fd}) failed: errno ${errno}`);
}

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

/** SO_PEERCRED of a connected unix socket; throws when the kernel refuses. */
export function peerCredentials(fd: number): PeerCredentials {
  const value = Buffer.alloc(12);
  const length = [12];
  if (lib().getsockopt(fd, SOL_SOCKET, SO_PEERCRED, value, length) !== 0) {
    throw new Error(`getsockopt(SO_PEERCRED) on fd ${fd} failed`);
  }
  return { pid: value.readInt32LE(0), uid: value.readUInt32LE(4), gid: value.readUInt32LE(8) };
}
