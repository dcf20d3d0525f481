// Who may change things: root (uid 0) always; anyone else when polkit grants the action
// org.berth.supervisor1.manage (asking the user when the call allows interactive authorization).
// Without polkit on the bus only root may. Reads never come here.

import {
  callBusDaemon,
  callWithTimeout,
  DBusError,
  Message,
  type MessageBus,
  Variant,
} from "../../common/bus.js";
import { AccessDeniedError, InteractiveAuthorizationRequiredError } from "../../common/errors.js";
import type { Logger } from "../log.js";

export const POLKIT_ACTION = "org.berth.supervisor1.manage";
const POLKIT_NAME = "org.freedesktop.PolicyKit1";
const POLKIT_PATH = "/org/freedesktop/PolicyKit1/Authority";
const POLKIT_INTERFACE = "org.freedesktop.PolicyKit1.Authority";
const ALLOW_USER_INTERACTION = 1;
/** An interactive authorization can wait on a person typing a password. */
const POLKIT_TIMEOUT_MS = 120_000;

/** Callers whose uid is remembered (the oldest is forgotten first). */
const UID_CACHE_SIZE = 1024;

export class BusAuthorizer {
  /**
   * Unique name → uid. A bus never reuses a unique name and a connection's uid never changes, so
   * asking the bus once per caller is enough (it was one more round trip on every RunContainer).
   */
  private readonly uids = new Map<string, number>();

  constructor(
    private readonly bus: MessageBus,
    private readonly log: Logger,
  ) {}

  async authorize(sender: string, interactive: boolean): Promise<void> {
    const uid = await this.uidOf(sender);
    if (uid === 0) return;
    let reply: Message | null;
    try {
      reply = await callWithTimeout(
        this.bus,
        new Message({
          destination: POLKIT_NAME,
          path: POLKIT_PATH,
          interface: POLKIT_INTERFACE,
          member: "CheckAuthorization",
          signature: "(sa{sv})sa{ss}us",
          body: [
            ["system-bus-name", { name: new Variant("s", sender) }],
            POLKIT_ACTION,
            {},
            interactive ? ALLOW_USER_INTERACTION : 0,
            "",
          ],
        }),
        POLKIT_TIMEOUT_MS,
      );
    } catch (error) {
      if (error instanceof DBusError && error.type === "org.freedesktop.DBus.Error.ServiceUnknown") {
        throw new AccessDeniedError(`only root may do this (uid ${uid}; polkit is not available to ask)`);
      }
      const reason = (error as Error).message;
      this.log.warn(`polkit check for uid ${uid} failed: ${reason}`);
      throw new AccessDeniedError(`uid ${uid} is not authorized to manage containers (polkit: ${reason})`);
    }
    const [isAuthorized, isChallenge] = (reply?.body[0] ?? [false, false]) as [boolean, boolean];
    if (isAuthorized) return;
    if (isChallenge && !interactive) {
      throw new InteractiveAuthorizationRequiredError(
        `uid ${uid} needs interactive authorization for ${POLKIT_ACTION}; call again allowing it`,
      );
    }
    throw new AccessDeniedError(`uid ${uid} is not authorized to manage containers (${POLKIT_ACTION})`);
  }

  private async uidOf(sender: string): Promise<number> {
    const known = this.uids.get(sender);
    if (known !== undefined) return known;
    const [uid] = (await callBusDaemon(this.bus, "GetConnectionUnixUser", "s", [sender])) as [number];
    if (this.uids.size >= UID_CACHE_SIZE) this.uids.delete(this.uids.keys().next().value as string);
    this.uids.set(sender, uid);
    return uid;
  }
}
