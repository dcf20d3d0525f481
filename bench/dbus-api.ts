// D-Bus API cost: latency of the calls clients make most (Properties.Get, GetAll, ListContainers,
// GetManagedObjects, Introspect, Ping) through a real dbus-daemon, with 0 and with N containers, and
// berthd's RSS alongside. Containers are created, not started (the API layer's cost is the point here).
//
//   node dist/bench/dbus-api.js [containers=100] [calls=300]

import { readFileSync } from "node:fs";
import { type MessageBus, Variant } from "../src/common/bus.js";
import {
  CONTAINER_INTERFACE,
  containerPath,
  MANAGER_INTERFACE,
  MANAGER_PATH,
} from "../src/common/bus-path.js";
import { makeBundle, uniqueId } from "../test/fixtures/bundle.js";
import { startBerthd } from "../test/helpers/berthd.js";
import { callMethod } from "../test/helpers/dbus.js";

const containers = Number(process.argv[2] ?? 100);
const calls = Number(process.argv[3] ?? 300);

function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

async function measure(client: MessageBus, call: () => Promise<unknown>): Promise<string> {
  for (let i = 0; i < 20; i++) await call(); // warm up
  const times: number[] = [];
  const started = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) {
    const t0 = process.hrtime.bigint();
    await call();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const total = Number(process.hrtime.bigint() - started) / 1e9;
  times.sort((a, b) => a - b);
  void client;
  return `${percentile(times, 50).toFixed(2).padStart(8)} ${percentile(times, 99).toFixed(2).padStart(8)} ${(calls / total).toFixed(0).padStart(8)}`;
}

async function table(client: MessageBus, label: string, someId: string | undefined): Promise<void> {
  const rows: Array<[string, () => Promise<unknown>]> = [
    ["Peer.Ping", () => callMethod(client, MANAGER_PATH, "org.freedesktop.DBus.Peer", "Ping")],
    [
      "Get Manager.Version",
      () =>
        callMethod(client, MANAGER_PATH, "org.freedesktop.DBus.Properties", "Get", "ss", [
          MANAGER_INTERFACE,
          "Version",
        ]),
    ],
    [
      "Set MaxConcurrentStarts",
      // Privileged: includes berthd asking the bus for the caller's uid.
      () =>
        callMethod(client, MANAGER_PATH, "org.freedesktop.DBus.Properties", "Set", "ssv", [
          MANAGER_INTERFACE,
          "MaxConcurrentStarts",
          new Variant("u", 10),
        ]),
    ],
    ["ListContainers", () => callMethod(client, MANAGER_PATH, MANAGER_INTERFACE, "ListContainers")],
    [
      "GetManagedObjects",
      () => callMethod(client, MANAGER_PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects"),
    ],
    [
      "Introspect …/container",
      () =>
        callMethod(client, `${MANAGER_PATH}/container`, "org.freedesktop.DBus.Introspectable", "Introspect"),
    ],
  ];
  if (someId !== undefined) {
    rows.push([
      "GetAll Container",
      () =>
        callMethod(client, containerPath(someId), "org.freedesktop.DBus.Properties", "GetAll", "s", [
          CONTAINER_INTERFACE,
        ]),
    ]);
  }
  console.log(`\n${label}`);
  console.log(`${"call".padEnd(26)}  p50 ms   p99 ms  calls/s`);
  for (const [name, call] of rows) console.log(`${name.padEnd(26)}${await measure(client, call)}`);
}

const berthd = await startBerthd();
const bundle = await makeBundle({ args: ["sleep", "600"] });
try {
  const client = await berthd.connect();
  console.log(`berthd RSS idle: ${rssKiB(berthd.pid)} KiB`);
  await table(client, "0 containers", undefined);
  const ids: string[] = [];
  for (let i = 0; i < containers; i++) {
    const id = uniqueId("bench");
    await callMethod(client, MANAGER_PATH, MANAGER_INTERFACE, "CreateContainer", "ssa{sv}", [
      id,
      bundle.path,
      {},
    ]);
    ids.push(id);
  }
  console.log(`\nberthd RSS with ${containers} created containers: ${rssKiB(berthd.pid)} KiB`);
  await table(client, `${containers} containers`, ids[0]);
  for (const id of ids) {
    await callMethod(client, containerPath(id), CONTAINER_INTERFACE, "Kill", "si", ["all", 9]).catch(
      () => undefined,
    );
    await callMethod(client, containerPath(id), CONTAINER_INTERFACE, "Delete").catch(() => undefined);
  }
} finally {
  await berthd.cleanup();
  await bundle.remove();
}
