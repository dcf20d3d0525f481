// Which bus berthctl talks to: --address, then $BERTH_ADDRESS, then (as root) berthd's peer-to-peer
// socket /run/berth/private when it exists and answers, then the system bus.

import { statSync } from "node:fs";
import { BusConnection } from "./connection.js";

export const PRIVATE_SOCKET = "/run/berth/private";

export function systemBusAddress(env: NodeJS.ProcessEnv): string {
  return env.DBUS_SYSTEM_BUS_ADDRESS || "unix:path=/var/run/dbus/system_bus_socket";
}

function isSocket(path: string): boolean {
  try {
    return statSync(path).isSocket();
  } catch {
    return false;
  }
}

/** Opens the connection berthctl uses; an explicit address is used as given, with no fallback. */
export async function connectBus(
  explicit: string | undefined,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<BusConnection> {
  const chosen = explicit ?? (env.BERTH_ADDRESS || undefined);
  if (chosen !== undefined) return BusConnection.open(chosen, timeoutMs);
  if (process.getuid?.() === 0 && isSocket(PRIVATE_SOCKET)) {
    // The private socket is optional (a later systemd socket unit adds it): any failure to use it
    // falls back to the system bus without a word.
    const direct = await BusConnection.open(`unix:path=${PRIVATE_SOCKET}`, timeoutMs).catch(() => undefined);
    if (direct) {
      try {
        await direct.ready;
        return direct;
      } catch {
        direct.close();
      }
    }
  }
  return BusConnection.open(systemBusAddress(env), timeoutMs);
}
