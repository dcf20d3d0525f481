// berthctl's failures. Each becomes one line on stderr, `berthctl: <what failed>: <message>`, and a
// documented exit code (docs/berthctl.md); nothing else ever reaches the user.

/** Exit codes scripts can rely on. Commands that run a container process exit with its code instead. */
export const EXIT_OK = 0;
/** The daemon refused or failed the request, or could not be reached. */
export const EXIT_FAILURE = 1;
/** The command line was wrong; nothing was sent to the daemon. */
export const EXIT_USAGE = 2;
/** run, exec, attach: berthctl or the daemon failed, so there is no container exit code (as docker). */
export const EXIT_RUN_FAILURE = 125;

/** The command line is wrong: printed with a pointer to --help, exit 2. */
export class UsageError extends Error {}

/** A D-Bus error reply: `errorName` is the full name, e.g. org.berth.Supervisor1.Error.NoSuchContainer. */
export class BusError extends Error {
  constructor(
    readonly errorName: string,
    message: string,
  ) {
    super(message);
  }
  /** The last dotted component: what berthctl shows (NoSuchContainer, AccessDenied, ...). */
  get shortName(): string {
    return this.errorName.slice(this.errorName.lastIndexOf(".") + 1);
  }
}

/** Anything else that failed in berthctl itself: the bus connection, a timeout, a local file. */
export class ClientError extends Error {}

/** Adds what was being done to a failure, e.g. "start web-1". */
export class FailedError extends Error {
  constructor(
    readonly what: string,
    override readonly cause: unknown,
  ) {
    super(`${what}: ${describe(cause)}`);
  }
}

/** One line for a failure; never a stack trace. */
export function describe(error: unknown): string {
  if (error instanceof BusError) return `${error.shortName}: ${error.message}${hint(error)}`;
  if (error instanceof FailedError || error instanceof ClientError || error instanceof UsageError)
    return error.message;
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

function hint(error: BusError): string {
  if (error.shortName === "ServiceUnknown" || error.shortName === "NameHasNoOwner")
    return " (is berthd running?)";
  return "";
}

/** Runs one step of a command, labelling its failure with what it was doing. */
export async function step<T>(what: string, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof FailedError || error instanceof UsageError) throw error;
    throw new FailedError(what, error);
  }
}
