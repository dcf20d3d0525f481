// Claiming org.berth.Supervisor1 on the bus. Right after `systemctl restart berthd` (or a SIGKILL and
// systemd's restart) the bus may still list the old berthd as the owner for a moment: its connection
// is not torn down yet. So berthd queues for the name instead of giving up, and waits (bounded) for the
// bus's NameAcquired; only then may READY=1 be sent. A name that stays taken is a clear failure that
// says who holds it.

import { callBusDaemon, type Message, type MessageBus, MessageType } from "../../common/bus.js";
import type { Logger } from "../log.js";

/** How long berthd waits in the queue for a name whose owner is going away. */
export const NAME_WAIT_MS = 10_000;

const PRIMARY_OWNER = 1;
const IN_QUEUE = 2;
const ALREADY_OWNER = 4;

/** The name stayed owned by another connection: another berthd runs. */
export class BusNameTakenError extends Error {
  readonly code = "BusNameTaken";
}

/** "`:1.42` (pid 1234, uid 0)", or just the unique name when the bus will not say more. */
async function describeOwner(bus: MessageBus, name: string): Promise<string> {
  let owner: string;
  try {
    [owner] = (await callBusDaemon(bus, "GetNameOwner", "s", [name], 2000)) as [string];
  } catch {
    return "an unknown connection";
  }
  try {
    const [pid] = (await callBusDaemon(bus, "GetConnectionUnixProcessID", "s", [owner], 2000)) as [number];
    return `${owner} (pid ${pid})`;
  } catch {
    return owner;
  }
}

/**
 * Requests `name` without DO_NOT_QUEUE; when queued, waits up to `waitMs` for NameAcquired. On
 * timeout it leaves the queue (ReleaseName) and throws BusNameTakenError naming the owner.
 */
export async function claimBusName(
  bus: MessageBus,
  name: string,
  log: Logger,
  waitMs = NAME_WAIT_MS,
): Promise<void> {
  let acquired!: () => void;
  const acquiredSignal = new Promise<void>((resolve) => {
    acquired = resolve;
  });
  // The bus sends NameAcquired to us unasked (no match rule needed), possibly before RequestName's reply.
  const onMessage = (message: Message): void => {
    if (
      message.type === MessageType.SIGNAL &&
      message.sender === "org.freedesktop.DBus" &&
      message.interface === "org.freedesktop.DBus" &&
      message.member === "NameAcquired" &&
      message.body[0] === name
    ) {
      acquired();
    }
  };
  bus.on("message", onMessage);
  try {
    const [reply] = (await callBusDaemon(bus, "RequestName", "su", [name, 0])) as [number];
    if (reply === PRIMARY_OWNER || reply === ALREADY_OWNER) return;
    if (reply !== IN_QUEUE) throw new BusNameTakenError(`RequestName(${name}) answered ${reply}`);
    const owner = await describeOwner(bus, name);
    log.warn(`the bus name ${name} is owned by ${owner}; waiting up to ${waitMs / 1000} s for it`);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), waitMs);
    });
    const late = await Promise.race([acquiredSignal.then(() => false), timedOut]);
    clearTimeout(timer);
    if (!late) {
      log.info(`got the bus name ${name} after ${owner} let it go`);
      return;
    }
    await callBusDaemon(bus, "ReleaseName", "s", [name], 2000).catch(() => undefined);
    throw new BusNameTakenError(
      `the bus name ${name} is already owned by ${await describeOwner(bus, name)}, who did not let it go ` +
        `in ${waitMs / 1000} s (another berthd is running?)`,
    );
  } finally {
    bus.off("message", onMessage);
  }
}
