// The CRI container log format the shim's `file` driver writes: one record a line,
// `<RFC3339Nano time> <stdout|stderr> <F|P> <text>`; P marks a partial line continued by the next record.

export interface CriRecord {
  time: string;
  stream: "stdout" | "stderr";
  tag: "F" | "P";
  text: string;
}

const RECORD =
  /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)) (stdout|stderr) ([FP]) (.*)$/s;

/** Parses a whole log; throws on the first line that is not a CRI record. */
export function parseCriLog(log: string): CriRecord[] {
  if (log === "") return [];
  if (!log.endsWith("\n")) throw new Error("CRI log: the last record has no newline");
  return log
    .slice(0, -1)
    .split("\n")
    .map((line, index) => {
      const match = RECORD.exec(line);
      if (!match) throw new Error(`CRI log line ${index + 1} is not a CRI record: ${JSON.stringify(line)}`);
      return {
        time: match[1],
        stream: match[2] as CriRecord["stream"],
        tag: match[3] as CriRecord["tag"],
        text: match[4],
      };
    });
}

/** The text of one stream, with partial records joined and full ones ended by a newline. */
export function streamText(records: CriRecord[], stream: CriRecord["stream"]): string {
  return records
    .filter((record) => record.stream === stream)
    .map((record) => (record.tag === "F" ? `${record.text}\n` : record.text))
    .join("");
}
