// Marks every file descriptor of berthd close-on-exec before a shim is spawned. Node opens its own
// fds with O_CLOEXEC, but native modules need not: the D-Bus connection's socket (usocket) does not,
// and a shim that inherited it would keep berthd's bus name alive after berthd was SIGKILLed, so a
// restarted berthd could never claim it while any container ran. A shim must inherit nothing.

import { readdirSync } from "node:fs";
import koffi from "koffi";

const F_GETFD = 1;
const F_SETFD = 2;
const FD_CLOEXEC = 1;

type Fcntl = (fd: number, command: number, argument: number) => number;
let fcntl: Fcntl | undefined;

function loadFcntl(): Fcntl {
  fcntl ??= koffi.load("libc.so.6").func("int fcntl(int fd, int cmd, int arg)") as Fcntl;
  return fcntl;
}

export function markAllCloseOnExec(): void {
  const call = loadFcntl();
  for (const name of readdirSync("/proc/self/fd")) {
    const fd = Number(name);
    if (fd < 3) continue;
    const flags = call(fd, F_GETFD, 0);
    if (flags >= 0 && (flags & FD_CLOEXEC) === 0) call(fd, F_SETFD, flags | FD_CLOEXEC);
  }
}
