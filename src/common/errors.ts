// Every failure that can reach a D-Bus caller is one of these: a stable code, a D-Bus error name
// derived from it, and a message a person can act on. Nothing else is ever sent to a caller.

export const ERROR_PREFIX = "org.berth.Supervisor1.Error.";

export type ErrorCode =
  | "NoSuchContainer"
  | "ContainerExists"
  | "NoSuchProcess"
  | "ProcessExists"
  | "InvalidArgument"
  | "InvalidState"
  | "RuntimeFailed"
  | "Busy"
  | "AccessDenied"
  | "InteractiveAuthorizationRequired";

/** D-Bus error names: the berth ones are versioned under Supervisor1; authorization uses the standard ones. */
export function dbusErrorName(code: ErrorCode): string {
  if (code === "AccessDenied") return "org.freedesktop.DBus.Error.AccessDenied";
  if (code === "InteractiveAuthorizationRequired")
    return "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired";
  return ERROR_PREFIX + code;
}

export abstract class BerthError extends Error {
  abstract readonly code: ErrorCode;
  get dbusName(): string {
    return dbusErrorName(this.code);
  }
}

export class NoSuchContainerError extends BerthError {
  readonly code = "NoSuchContainer";
  constructor(id: string) {
    super(`no container "${id}"`);
  }
}
export class ContainerExistsError extends BerthError {
  readonly code = "ContainerExists";
  constructor(id: string) {
    super(`a container "${id}" already exists`);
  }
}
export class NoSuchProcessError extends BerthError {
  readonly code = "NoSuchProcess";
}
export class ProcessExistsError extends BerthError {
  readonly code = "ProcessExists";
}
export class InvalidArgumentError extends BerthError {
  readonly code = "InvalidArgument";
}
export class InvalidStateError extends BerthError {
  readonly code = "InvalidState";
}
/** The runtime (or the shim running it) failed; the message carries the runtime's own error text. */
export class RuntimeFailedError extends BerthError {
  readonly code = "RuntimeFailed";
}
export class BusyError extends BerthError {
  readonly code = "Busy";
}
export class AccessDeniedError extends BerthError {
  readonly code = "AccessDenied";
}
export class InteractiveAuthorizationRequiredError extends BerthError {
  readonly code = "InteractiveAuthorizationRequired";
}
