// Works around a dbus-next 0.10.2 bug with fd passing: its parser takes EVERY file descriptor the
// socket has received for the message it is parsing (usocket read(size, null)). The kernel may deliver
// one message's fds together with the bytes of the messages before it, so a signal that arrived just
// before an OpenStdio reply steals the reply's fds ("No FDs available"). This gives each message only
// as many fds as its UNIX_FDS header field says. Every dbus-next connection of berth's that passes
// fds goes through it: berthctl's (src/berthctl/bus/connection.ts) and connectBus() (./bus.ts: berthd's
// own connection and the tests' clients).

const UNIX_FDS_FIELD = 9;

export interface FdStream {
  read(size?: number, fdSize?: number | null): unknown;
  _wrap: { fds: number[] } | null;
}

/** The UNIX_FDS header field of a message whose header fields start at offset 0 of `fields`. */
export function unixFdCount(fields: Buffer, fieldsLength: number, littleEndian: boolean): number {
  let off = 0;
  const align = (n: number) => {
    off = (off + n - 1) & ~(n - 1);
  };
  const u32 = () => (littleEndian ? fields.readUInt32LE(off) : fields.readUInt32BE(off));
  while (off < fieldsLength) {
    align(8);
    const code = fields[off]!;
    const sigLength = fields[off + 1]!;
    const signature = fields.toString("latin1", off + 2, off + 2 + sigLength);
    off += 2 + sigLength + 1;
    if (signature === "u") {
      align(4);
      if (code === UNIX_FDS_FIELD) return u32();
      off += 4;
    } else if (signature === "s" || signature === "o") {
      align(4);
      off += 4 + u32() + 1;
    } else if (signature === "g") {
      off += 1 + fields[off]! + 1;
    } else {
      return 0; // no header field of any other type exists in D-Bus 1.x
    }
  }
  return 0;
}

/** Patches a usocket stream that dbus-next's parser reads from. */
export function splitFdsPerMessage(stream: FdStream): void {
  const read = stream.read.bind(stream);
  let header: Buffer | undefined;
  stream.read = (size?: number, fdSize?: number | null) => {
    if (fdSize !== null) {
      const chunk = read(size, fdSize);
      if (size === 16 && Buffer.isBuffer(chunk)) header = chunk;
      return chunk;
    }
    // The parser asks for a message's header fields and body after reading its 16-byte fixed header.
    const chunk = read(size, 0) as { data: Buffer | null; fds: number[] } | null;
    if (!chunk?.data || !header || !stream._wrap) return chunk;
    const littleEndian = header[0] === 0x6c; // 'l'
    const fieldsLength = littleEndian ? header.readUInt32LE(12) : header.readUInt32BE(12);
    const wanted = unixFdCount(chunk.data, fieldsLength, littleEndian);
    return { data: chunk.data, fds: stream._wrap.fds.splice(0, wanted) };
  };
}
