// The two things Node's net module does not do for a unix socket, through libc (koffi): SO_PEERCRED
// (who connected) and a close-on-exec dup (so usocket, which can pass fds with SCM_RIGHTS, can own a connection that
// net.Server accepted: usocket's own server cannot listen on a socket-activated fd).

import koffi from "koffi";

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
const F_DUPFD_CLOEXEC = 1030;

interface LibC {
  fcntl(fd: number, command: number, argument: number): number;
  getsockopt(fd: number, level: number, name: number, value: Buffer, length: number[]): number;
}

let libc: LibC | undefined;

function lib(): LibC {
  if (libc === undefined) {
    const handle = koffi.load("libc.so.6");
    libc = {
      fcntl: handle.func("int fcntl(int fd, int cmd, int arg)"),
      getsockopt: handle.func(
        "int getsockopt(int fd, int level, int name, _Out_ uint8_t *value, _Inout_ uint32_t *length)",
      ),
    };
  }
  return libc;
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

/** A close-on-exec duplicate of `fd`: no child of berthd may inherit a client's connection. */
export function dupFd(fd: number): number {
  const copy = lib().fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (copy < 0) throw new Error(`fcntl(${fd}, F_DUPFD_CLOEXEC) failed`);
  return copy;
}
