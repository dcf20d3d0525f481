// Close-on-exec for the fds native modules open without it. Node opens its own fds with O_CLOEXEC;
// usocket (the D-Bus connection's socket, and the private-socket connections berthd adopts) does not.
// Every child would inherit such an fd: a shim used to keep berthd's bus connection, and so its bus
// name, alive after berthd was SIGKILLed. berthd marks each such fd once, where it is made, rather than
// walking /proc/self/fd before every spawn (204 fcntl calls a start, 5-8 ms with 1000 containers); the
// shim also closes whatever it inherits (shim/util.c).

import koffi from "koffi";
import { connectionStream, type MessageBus } from "../../common/bus.js";

const F_GETFD = 1;
const F_SETFD = 2;
const FD_CLOEXEC = 1;

type Fcntl = (fd: number, command: number, argument: number) => number;
let fcntl: Fcntl | undefined;

function loadFcntl(): Fcntl {
  fcntl ??= koffi.load("libc.so.6").func("int fcntl(int fd, int cmd, int arg)") as Fcntl;
  return fcntl;
}

/** Sets FD_CLOEXEC on fd; throws when fcntl fails. */
export function markCloseOnExec(fd: number): void {
  const call = loadFcntl();
  const flags = call(fd, F_GETFD, 0);
  if (flags < 0 || call(fd, F_SETFD, flags | FD_CLOEXEC) < 0) {
    throw new Error(`fcntl(${fd}, F_SETFD, FD_CLOEXEC) failed`);
  }
}

/** Marks the socket under a dbus-next connection made with fd passing (a usocket) close-on-exec. */
export function markBusCloseOnExec(bus: MessageBus): void {
  const fd = (connectionStream(bus) as unknown as { fd?: unknown } | undefined)?.fd;
  if (typeof fd !== "number" || fd < 0) throw new Error("the bus connection has no socket fd to mark");
  markCloseOnExec(fd);
}
