// Introspection XML generated from the vtables: what Introspect returns. dbus/*.xml hold the same
// interfaces (with comments); test/api/introspection.test.ts keeps the two equal member by member.

import type { Arg, Vtable } from "./vtable.js";

export const DOCTYPE =
  '<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"\n' +
  ' "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">';

const EMITS_ANNOTATION = "org.freedesktop.DBus.Property.EmitsChangedSignal";

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function argXml(arg: Arg, direction: "in" | "out" | undefined, indent: string): string {
  const dir = direction === undefined ? "" : ` direction="${direction}"`;
  return `${indent}<arg type="${escapeXml(arg.type)}" name="${arg.name}"${dir}/>\n`;
}

/** One <interface> element for a vtable. */
function interfaceXml(vtable: Vtable<never>, indent = " "): string {
  const i2 = `${indent} `;
  const i3 = `${i2} `;
  let xml = `${indent}<interface name="${vtable.interface}">\n`;
  for (const entry of vtable.methods) {
    if (entry.in.length + entry.out.length === 0) {
      xml += `${i2}<method name="${entry.name}"/>\n`;
      continue;
    }
    xml += `${i2}<method name="${entry.name}">\n`;
    for (const arg of entry.in) xml += argXml(arg, "in", i3);
    for (const arg of entry.out) xml += argXml(arg, "out", i3);
    xml += `${i2}</method>\n`;
  }
  for (const entry of vtable.signals) {
    if (entry.args.length === 0) {
      xml += `${i2}<signal name="${entry.name}"/>\n`;
      continue;
    }
    xml += `${i2}<signal name="${entry.name}">\n`;
    for (const arg of entry.args) xml += argXml(arg, undefined, i3);
    xml += `${i2}</signal>\n`;
  }
  for (const entry of vtable.properties) {
    const access = entry.set === undefined ? "read" : "readwrite";
    xml += `${i2}<property name="${entry.name}" type="${escapeXml(entry.type)}" access="${access}">\n`;
    xml += `${i3}<annotation name="${EMITS_ANNOTATION}" value="${entry.emits}"/>\n`;
    xml += `${i2}</property>\n`;
  }
  return `${xml}${indent}</interface>\n`;
}

const STANDARD_INTERFACES = ` <interface name="org.freedesktop.DBus.Peer">
  <method name="Ping"/>
  <method name="GetMachineId">
   <arg type="s" name="machine_uuid" direction="out"/>
  </method>
 </interface>
 <interface name="org.freedesktop.DBus.Introspectable">
  <method name="Introspect">
   <arg type="s" name="xml_data" direction="out"/>
  </method>
 </interface>
 <interface name="org.freedesktop.DBus.Properties">
  <method name="Get">
   <arg type="s" name="interface_name" direction="in"/>
   <arg type="s" name="property_name" direction="in"/>
   <arg type="v" name="value" direction="out"/>
  </method>
  <method name="GetAll">
   <arg type="s" name="interface_name" direction="in"/>
   <arg type="a{sv}" name="props" direction="out"/>
  </method>
  <method name="Set">
   <arg type="s" name="interface_name" direction="in"/>
   <arg type="s" name="property_name" direction="in"/>
   <arg type="v" name="value" direction="in"/>
  </method>
  <signal name="PropertiesChanged">
   <arg type="s" name="interface_name"/>
   <arg type="a{sv}" name="changed_properties"/>
   <arg type="as" name="invalidated_properties"/>
  </signal>
 </interface>
`;

const OBJECT_MANAGER_INTERFACE = ` <interface name="org.freedesktop.DBus.ObjectManager">
  <method name="GetManagedObjects">
   <arg type="a{oa{sa{sv}}}" name="object_paths_interfaces_and_properties" direction="out"/>
  </method>
  <signal name="InterfacesAdded">
   <arg type="o" name="object_path"/>
   <arg type="a{sa{sv}}" name="interfaces_and_properties"/>
  </signal>
  <signal name="InterfacesRemoved">
   <arg type="o" name="object_path"/>
   <arg type="as" name="interfaces"/>
  </signal>
 </interface>
`;

/** The Introspect reply for a node: standard interfaces, the node's own, and its children by name. */
export function nodeXml(
  vtables: readonly Vtable<never>[],
  objectManager: boolean,
  children: string[],
): string {
  let xml = `${DOCTYPE}\n<node>\n${STANDARD_INTERFACES}`;
  if (objectManager) xml += OBJECT_MANAGER_INTERFACE;
  for (const vtable of vtables) xml += interfaceXml(vtable);
  for (const child of children) xml += ` <node name="${child}"/>\n`;
  return `${xml}</node>\n`;
}
