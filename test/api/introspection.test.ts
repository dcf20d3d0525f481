// dbus/*.xml is the API's source of truth: the live daemon's Introspect output must match it member by
// member (methods with in/out types and names, signals, properties with type, access and the
// EmitsChangedSignal annotation), on the manager, a container and an exec'd process object.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { Variant } from "../../src/common/bus.js";
import {
  CONTAINER_INTERFACE,
  containerPath,
  MANAGER_INTERFACE,
  MANAGER_PATH,
  PROCESS_INTERFACE,
  processPath,
} from "../../src/common/bus-path.js";
import { uniqueId } from "../fixtures/bundle.js";
import { sharedBerthd } from "../helpers/berthd.js";
import { callMethod, DBUS_DIR } from "../helpers/dbus.js";

interface Element {
  name: string;
  attrs: Record<string, string>;
  children: Element[];
}

/** A small parser for introspection XML (elements and attributes; comments and the doctype skipped). */
function parseXml(text: string): Element {
  const root: Element = { name: "#root", attrs: {}, children: [] };
  const stack = [root];
  const body = text.replace(/<!--[\s\S]*?-->/g, "").replace(/<!DOCTYPE[\s\S]*?>/, "");
  for (const match of body.matchAll(/<(\/?)([\w.]+)([^>]*?)(\/?)>/g)) {
    const [, closing, name, attrText, selfClosing] = match;
    if (closing) {
      const top = stack.pop();
      assert.equal(top?.name, name, `XML: </${name}> closes <${top?.name}>`);
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const [, key, value] of attrText!.matchAll(/([\w:]+)="([^"]*)"/g)) attrs[key!] = value!;
    const element: Element = { name: name!, attrs, children: [] };
    stack.at(-1)!.children.push(element);
    if (!selfClosing) stack.push(element);
  }
  return root;
}

/** One interface as a comparable map: "method Name" → "in s id, out o container", etc. */
function describeInterface(element: Element): Map<string, string> {
  const members = new Map<string, string>();
  for (const child of element.children) {
    const args = child.children
      .filter((c) => c.name === "arg")
      .map((c) =>
        `${c.attrs.direction ?? (child.name === "method" ? "in" : "")} ${c.attrs.type} ${c.attrs.name}`.trim(),
      );
    const annotations = child.children
      .filter((c) => c.name === "annotation")
      .map((c) => `@${c.attrs.name}=${c.attrs.value}`);
    if (child.name === "property") {
      members.set(
        `property ${child.attrs.name}`,
        [child.attrs.type, child.attrs.access, ...annotations].join(" "),
      );
    } else {
      members.set(`${child.name} ${child.attrs.name}`, [...args, ...annotations].join(", "));
    }
  }
  return members;
}

function interfacesIn(xml: string): Map<string, Map<string, string>> {
  const node = parseXml(xml).children.find((e) => e.name === "node");
  assert.ok(node, "XML has a <node>");
  return new Map(
    node.children.filter((e) => e.name === "interface").map((e) => [e.attrs.name!, describeInterface(e)]),
  );
}

function fileInterface(name: string): Map<string, string> {
  const parsed = interfacesIn(readFileSync(join(DBUS_DIR, `${name}.xml`), "utf8"));
  assert.deepEqual([...parsed.keys()], [name], `dbus/${name}.xml declares exactly ${name}`);
  return parsed.get(name)!;
}

describe("introspection matches dbus/*.xml", () => {
  const daemon = sharedBerthd();
  const id = uniqueId("intro");
  const execId = "probe";

  before(async () => {
    const bundle = await daemon.bundle({ args: ["sleep", "60"] });
    await daemon.manager("RunContainer", "ssa{sv}", [id, bundle.path, {}]);
    await daemon.container(id, "Exec", "sa{sv}", [execId, { Args: new Variant("as", ["sleep", "60"]) }]);
  });

  const introspect = async (path: string) =>
    (
      (await callMethod(daemon.client, path, "org.freedesktop.DBus.Introspectable", "Introspect")) as [string]
    )[0];

  for (const [label, iface, path] of [
    ["manager", MANAGER_INTERFACE, () => MANAGER_PATH],
    ["container", CONTAINER_INTERFACE, () => containerPath(id)],
    ["process", PROCESS_INTERFACE, () => processPath(id, execId)],
  ] as const) {
    test(`${label} object serves ${iface} exactly as its XML file says`, async () => {
      const live = interfacesIn(await introspect(path()));
      const expected = fileInterface(iface);
      const actual = live.get(iface);
      assert.ok(actual, `${path()} introspects ${iface}`);
      // Member by member, so a failure names the member that differs.
      for (const [member, shape] of expected) assert.equal(actual.get(member), shape, `${iface} ${member}`);
      for (const member of actual.keys())
        assert.ok(expected.has(member), `${iface} ${member} is not in the XML`);
      for (const standard of ["Peer", "Introspectable", "Properties"]) {
        assert.ok(
          live.has(`org.freedesktop.DBus.${standard}`),
          `${path()} has org.freedesktop.DBus.${standard}`,
        );
      }
      assert.equal(live.has("org.freedesktop.DBus.ObjectManager"), label === "manager");
    });
  }

  test("intermediate nodes introspect to their children; an unknown object is UnknownObject", async () => {
    const root = parseXml(await introspect("/")).children[0]!;
    assert.deepEqual(
      root.children.filter((e) => e.name === "node").map((e) => e.attrs.name),
      ["org"],
    );
    const manager = parseXml(await introspect(MANAGER_PATH)).children[0]!;
    assert.deepEqual(
      manager.children.filter((e) => e.name === "node").map((e) => e.attrs.name),
      ["container"],
    );
    const containers = parseXml(await introspect(`${MANAGER_PATH}/container`)).children[0]!;
    const names = containers.children.filter((e) => e.name === "node").map((e) => e.attrs.name);
    assert.ok(names.includes(containerPath(id).split("/").at(-1)!), names.join(","));
    await assert.rejects(
      callMethod(
        daemon.client,
        `${MANAGER_PATH}/nothing`,
        "org.freedesktop.DBus.Introspectable",
        "Introspect",
      ),
      (error: { type?: string }) => error.type === "org.freedesktop.DBus.Error.UnknownObject",
    );
  });

  test("Peer.Ping and GetMachineId answer", async () => {
    assert.deepEqual(await callMethod(daemon.client, MANAGER_PATH, "org.freedesktop.DBus.Peer", "Ping"), []);
    const [machineId] = await callMethod(
      daemon.client,
      MANAGER_PATH,
      "org.freedesktop.DBus.Peer",
      "GetMachineId",
    );
    assert.match(machineId as string, /^[0-9a-f]{32}$/);
  });
});
