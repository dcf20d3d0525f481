// D-Bus object paths for berth objects, with systemd's bus label escaping (sd_bus_path_encode /
// sd_bus_path_decode): every byte outside [A-Za-z0-9], and a leading digit, becomes "_" + two lowercase
// hex digits; the empty label is "_". So "web-1" → "web_2d1" and any id maps to one valid path element.

export const BUS_NAME = "org.berth.Supervisor1";
export const MANAGER_PATH = "/org/berth/Supervisor1";
export const CONTAINER_PREFIX = `${MANAGER_PATH}/container`;

export const MANAGER_INTERFACE = "org.berth.Supervisor1.Manager";
export const CONTAINER_INTERFACE = "org.berth.Supervisor1.Container";
export const PROCESS_INTERFACE = "org.berth.Supervisor1.Process";

function isAlnum(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a);
}

function isDigit(byte: number): boolean {
  return byte >= 0x30 && byte <= 0x39;
}

/** Escapes one label (systemd's bus_label_escape). */
export function escapeLabel(label: string): string {
  if (label === "") return "_";
  let out = "";
  const bytes = Buffer.from(label, "utf8");
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (!isAlnum(byte) || (i === 0 && isDigit(byte))) out += `_${byte.toString(16).padStart(2, "0")}`;
    else out += String.fromCharCode(byte);
  }
  return out;
}

/** Reverses escapeLabel; undefined when the label is not one escapeLabel could have produced. */
export function unescapeLabel(label: string): string | undefined {
  if (label === "_") return "";
  const bytes: number[] = [];
  for (let i = 0; i < label.length; i++) {
    const char = label[i]!;
    if (char === "_") {
      const hex = label.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) return undefined;
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else if (/[A-Za-z0-9]/.test(char)) {
      bytes.push(char.charCodeAt(0));
    } else {
      return undefined;
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

/** sd_bus_path_encode(prefix, id). */
export function encodePath(prefix: string, id: string): string {
  return `${prefix}/${escapeLabel(id)}`;
}

/** sd_bus_path_decode(path, prefix): the id, or undefined when the path is not one element under prefix. */
export function decodePath(path: string, prefix: string): string | undefined {
  if (!path.startsWith(`${prefix}/`)) return undefined;
  const label = path.slice(prefix.length + 1);
  if (label === "" || label.includes("/")) return undefined;
  return unescapeLabel(label);
}

/** /org/berth/Supervisor1/container/<id escaped> */
export function containerPath(id: string): string {
  return encodePath(CONTAINER_PREFIX, id);
}

/** /org/berth/Supervisor1/container/<id escaped>/process/<exec-id escaped> */
export function processPath(containerId: string, execId: string): string {
  return encodePath(`${containerPath(containerId)}/process`, execId);
}

/** The container id (and exec id, for a process object) a berth object path names, if any. */
export function parseObjectPath(path: string): { containerId: string; execId?: string } | undefined {
  if (!path.startsWith(`${CONTAINER_PREFIX}/`)) return undefined;
  const parts = path.slice(CONTAINER_PREFIX.length + 1).split("/");
  const containerId = parts[0] === undefined ? undefined : unescapeLabel(parts[0]);
  if (containerId === undefined || containerId === "") return undefined;
  if (parts.length === 1) return { containerId };
  if (parts.length !== 3 || parts[1] !== "process") return undefined;
  const execId = unescapeLabel(parts[2]!);
  if (execId === undefined || execId === "") return undefined;
  return { containerId, execId };
}
