// The CRI container log format the shim's "file" driver writes (one record a line):
//   <RFC3339Nano timestamp> <stdout|stderr> <F|P> <text>
// P marks a partial record: the text continues in the next record of the same stream; F ends a line.

export type Stream = "stdout" | "stderr";

export interface LogLine {
  time: string;
  stream: Stream;
  /** The whole logical line, partial records joined, without the newline. */
  text: string;
}

const RECORD = /^(\S+) (stdout|stderr) ([FP]) ?(.*)$/;

/**
 * Parses records into logical lines. A trailing partial (a line the container has not finished) is
 * returned in `pending`, keyed by stream, for the caller to prepend to what it reads next.
 */
export class CriParser {
  private readonly partial: Record<Stream, string> = { stdout: "", stderr: "" };
  private rest = "";

  /** Feeds raw file text (may end mid-record); returns the lines completed by it. */
  push(chunk: string): LogLine[] {
    const text = this.rest + chunk;
    const records = text.split("\n");
    this.rest = records.pop()!;
    const lines: LogLine[] = [];
    for (const record of records) {
      const m = RECORD.exec(record);
      if (!m) continue; // not a CRI record (a torn write): skip it rather than show garbage
      const stream = m[2] as Stream;
      if (m[3] === "P") {
        this.partial[stream] += m[4]!;
        continue;
      }
      lines.push({ time: m[1]!, stream, text: this.partial[stream] + m[4]! });
      this.partial[stream] = "";
    }
    return lines;
  }
}
