// The server side of D-Bus's SASL handshake on the peer-to-peer socket (the spec's "Authentication
// Protocol"), EXTERNAL only: the peer's uid comes from SO_PEERCRED, and whatever uid the client claims
// must be that one. Both clients seen here work: dbus-next sends `AUTH EXTERNAL <hex uid>` and waits
// for OK; busctl 252 pipelines `AUTH EXTERNAL`, `DATA`, `NEGOTIATE_UNIX_FD`, `BEGIN` and expects
// `DATA`, `OK <guid>`, `AGREE_UNIX_FD` back. Reads stop exactly after BEGIN's line, so the first
// message's bytes stay in the stream for the message parser.

import type { Duplex } from "node:stream";

/** Longest line accepted during the handshake (the spec's lines are short). */
const MAX_LINE = 16 << 10;

export class AuthError extends Error {
  readonly code = "AuthFailed";
}

/** Reads one CRLF-terminated line byte by byte (never past it); rejects on EOF. */
function readLine(stream: Duplex): Promise<string> {
  return new Promise((resolve, reject) => {
    const bytes: number[] = [];
    const cleanup = (): void => {
      stream.off("readable", onReadable);
      stream.off("end", onEnd);
      stream.off("close", onEnd);
      stream.off("error", onError);
    };
    const onEnd = (): void => {
      cleanup();
      reject(new AuthError("the client left during authentication"));
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const onReadable = (): void => {
      for (;;) {
        const chunk = stream.read(1) as Buffer | null;
        if (chunk === null) return;
        const byte = chunk[0]!;
        if (byte === 0x0a) {
          cleanup();
          resolve(Buffer.from(bytes).toString("latin1").replace(/\r$/, ""));
          return;
        }
        bytes.push(byte);
        if (bytes.length > MAX_LINE) {
          cleanup();
          reject(new AuthError("authentication line too long"));
          return;
        }
      }
    };
    stream.on("readable", onReadable);
    stream.on("end", onEnd);
    stream.on("close", onEnd);
    stream.on("error", onError);
    onReadable();
  });
}

/** The uid a client's hex-encoded EXTERNAL response claims ("30" → "0"), or undefined when malformed. */
function claimedUid(hex: string): number | undefined {
  if (!/^([0-9a-fA-F]{2})+$/.test(hex)) return undefined;
  const text = Buffer.from(hex, "hex").toString("latin1");
  return /^\d+$/.test(text) ? Number(text) : undefined;
}

/**
 * Runs the handshake for a peer whose SO_PEERCRED uid is `peerUid`, allowing only `allowedUid`.
 * Resolves once BEGIN is read; `unixFd` says whether the client negotiated fd passing.
 */
export async function authenticate(
  stream: Duplex,
  peerUid: number,
  allowedUid: number,
  guid: string,
): Promise<{ unixFd: boolean }> {
  const send = (line: string): void => {
    stream.write(Buffer.from(`${line}\r\n`, "latin1"));
  };
  // The protocol starts with one NUL byte (it carried credentials on old systems).
  const nul = await new Promise<Buffer | null>((resolve, reject) => {
    const onReadable = (): void => {
      const byte = stream.read(1) as Buffer | null;
      if (byte === null) return;
      stream.off("readable", onReadable);
      stream.off("close", onClose);
      resolve(byte);
    };
    const onClose = (): void => {
      stream.off("readable", onReadable);
      reject(new AuthError("the client left before authenticating"));
    };
    stream.on("readable", onReadable);
    stream.on("close", onClose);
    onReadable();
  });
  if (nul === null || nul[0] !== 0) throw new AuthError("the client did not start with a NUL byte");

  let authenticated = false;
  let awaitingData = false;
  let unixFd = false;
  const accept = (response: string): void => {
    const uid = response === "" ? peerUid : claimedUid(response);
    if (uid === peerUid && peerUid === allowedUid) {
      authenticated = true;
      send(`OK ${guid}`);
    } else {
      send("REJECTED EXTERNAL");
    }
  };
  for (;;) {
    const line = await readLine(stream);
    const [command = "", ...rest] = line.split(" ");
    if (command === "AUTH" && !authenticated) {
      const [mechanism, response] = rest;
      if (mechanism !== "EXTERNAL") {
        send("REJECTED EXTERNAL");
      } else if (response === undefined || response === "") {
        awaitingData = true;
        send("DATA");
      } else {
        accept(response);
      }
    } else if (command === "DATA" && awaitingData && !authenticated) {
      awaitingData = false;
      accept(rest[0] ?? "");
    } else if (command === "NEGOTIATE_UNIX_FD" && authenticated) {
      unixFd = true;
      send("AGREE_UNIX_FD");
    } else if (command === "BEGIN" && authenticated) {
      return { unixFd };
    } else if (command === "CANCEL" || command === "ERROR") {
      awaitingData = false;
      send("REJECTED EXTERNAL");
    } else if (command === "BEGIN") {
      throw new AuthError(`uid ${peerUid} may not use this socket`);
    } else {
      send("ERROR");
    }
  }
}
