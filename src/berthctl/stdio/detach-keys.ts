// The detach sequence of an attached terminal session: Ctrl-P Ctrl-Q, as docker has it. Typed into a
// raw-mode tty it ends berthctl's session and leaves the container running. A Ctrl-P not followed by
// Ctrl-Q is passed on unchanged (held back only until the next byte arrives).

const CTRL_P = 0x10;
const CTRL_Q = 0x11;

export class DetachKeys {
  private held = false;

  /** Returns the bytes to pass on, and whether the sequence was typed (bytes after it are dropped). */
  scan(chunk: Buffer): { pass: Buffer; detach: boolean } {
    const out: number[] = [];
    for (const byte of chunk) {
      if (this.held) {
        this.held = false;
        if (byte === CTRL_Q) return { pass: Buffer.from(out), detach: true };
        out.push(CTRL_P);
      }
      if (byte === CTRL_P) this.held = true;
      else out.push(byte);
    }
    return { pass: Buffer.from(out), detach: false };
  }
}
