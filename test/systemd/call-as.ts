// One D-Bus call to berthd over the system bus, printed as JSON: {"ok":true,"body":[…]} or
// {"ok":false,"error":"<D-Bus error name>","message":"…"}. journal-auth.test.ts runs it inside the
// sandbox as a non-root user, to see the exact error name (busctl prints only the message).
//
//   node call-as.js '{"path":"/org/berth/Supervisor1","iface":"…","member":"…","signature":"",
//                     "body":[],"interactive":false}'
// A {"$variant":["s","x"]} in body becomes a Variant.

import { callWithTimeout, connectBus, DBusError, Message, Variant } from "../../src/common/bus.js";
import { BUS_NAME } from "../../src/common/bus-path.js";

/** The header flag that lets the callee ask polkit to interact (dbus-next has no name for it). */
const ALLOW_INTERACTIVE_AUTHORIZATION = 0x4;

interface Request {
  path: string;
  iface: string;
  member: string;
  signature?: string;
  body?: unknown[];
  interactive?: boolean;
}

function revive(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(revive);
  if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>;
    if (Array.isArray(record.$variant))
      return new Variant(String(record.$variant[0]), revive(record.$variant[1]));
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, revive(v)]));
  }
  return value;
}

const request = JSON.parse(process.argv[2] ?? "{}") as Request;
const bus = await connectBus("unix:path=/run/dbus/system_bus_socket");
try {
  const reply = await callWithTimeout(
    bus,
    new Message({
      destination: BUS_NAME,
      path: request.path,
      interface: request.iface,
      member: request.member,
      signature: request.signature ?? "",
      body: revive(request.body ?? []) as unknown[],
      flags: request.interactive ? ALLOW_INTERACTIVE_AUTHORIZATION : 0,
    }),
    20_000,
  );
  process.stdout.write(
    `${JSON.stringify({ ok: true, body: reply?.body ?? [] }, (_k, v) => (typeof v === "bigint" ? String(v) : v))}\n`,
  );
} catch (error) {
  const name = error instanceof DBusError ? error.type : "";
  process.stdout.write(`${JSON.stringify({ ok: false, error: name, message: (error as Error).message })}\n`);
} finally {
  bus.disconnect();
}
