// berthd's logger: winston, one line per event, to stderr. Under journald (stderr is not a TTY and
// JOURNAL_STREAM is set) each line starts with a "<N>" syslog priority so journald files it at the
// right level; otherwise lines are plain text with a timestamp. A `container` field in the metadata
// leads the message, so every line about a container names it.

import winston from "winston";

export type Logger = winston.Logger;

const SYSLOG_PRIORITY: Record<string, number> = { error: 3, warn: 4, info: 6, verbose: 7, debug: 7 };
export const LOG_LEVELS = ["error", "warn", "info", "verbose", "debug"];

export interface LogOptions {
  /** Minimum level; default BERTHD_LOG_LEVEL or "info". */
  level?: string;
  /** Force the journald prefix on or off; default: detected. */
  journald?: boolean;
  /** Where lines go; default process.stderr (tests pass a stream to capture them). */
  stream?: NodeJS.WritableStream;
}

/** True when stderr goes to journald rather than a terminal. */
export function underJournald(): boolean {
  return !process.stderr.isTTY && (process.env.JOURNAL_STREAM ?? "") !== "";
}

function messageText(info: winston.Logform.TransformableInfo): string {
  const container = info.container === undefined ? "" : `${String(info.container)}: `;
  const text = String(info.message).replace(/\n/g, "\\n");
  return `${container}${text}`;
}

export function createLogger(options: LogOptions = {}): Logger {
  const journald = options.journald ?? underJournald();
  const level = options.level ?? process.env.BERTHD_LOG_LEVEL ?? "info";
  const line = journald
    ? winston.format.printf((info) => `<${SYSLOG_PRIORITY[info.level] ?? 6}>${messageText(info)}`)
    : winston.format.printf((info) => `${new Date().toISOString()} ${info.level}: ${messageText(info)}`);
  const transport =
    options.stream === undefined
      ? new winston.transports.Console({ stderrLevels: LOG_LEVELS })
      : new winston.transports.Stream({ stream: options.stream });
  return winston.createLogger({
    level: LOG_LEVELS.includes(level) ? level : "info",
    levels: { error: 0, warn: 1, info: 2, verbose: 3, debug: 4 },
    format: line,
    transports: [transport],
  });
}
