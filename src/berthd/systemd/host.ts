// Whether systemd manages this host, and the system-bus connection berthd's shim scopes go through.
// Scopes need both: systemd as the service manager (sd_booted's test: /run/systemd/system exists) and
// the system bus (dbus-daemon): systemd's own /run/systemd/private never answers dbus-next's Hello.
// Without either berthd runs without scopes (Unit ""), as design.md's "without systemd" mode says.

import { existsSync } from "node:fs";
import { BusConnectError, connectBus, type MessageBus, systemBusAddress } from "../../common/bus.js";
import { markBusCloseOnExec } from "../fd.js";
import type { Logger } from "../log.js";
import { Scopes } from "./scope.js";

const CONNECT_TIMEOUT_MS = 5000;

/** sd_booted(): systemd is the service manager. */
export function systemdManaged(): boolean {
  return existsSync("/run/systemd/system");
}

/** The started Scopes and their own connection, or undefined (logged) when there is no systemd to ask. */
export async function connectScopes(log: Logger): Promise<{ bus: MessageBus; scopes: Scopes } | undefined> {
  if (!systemdManaged()) {
    log.info("systemd is not the service manager here: shims run without scopes");
    return undefined;
  }
  const address = systemBusAddress();
  let bus: MessageBus;
  try {
    bus = await connectBus(address, CONNECT_TIMEOUT_MS);
  } catch (error) {
    const reason = error instanceof BusConnectError ? error.message : String(error);
    log.warn(`systemd runs but the system bus does not answer (${reason}): shims run without scopes`);
    return undefined;
  }
  markBusCloseOnExec(bus);
  // A connection that fails later must not become an unhandled 'error' event.
  bus.on("error", (error: unknown) => log.warn(`system bus connection for scopes: ${String(error)}`));
  const scopes = new Scopes(bus);
  try {
    await scopes.start();
  } catch (error) {
    bus.disconnect();
    log.warn(
      `cannot listen for systemd's job results (${(error as Error).message}): shims run without scopes`,
    );
    return undefined;
  }
  return { bus, scopes };
}
