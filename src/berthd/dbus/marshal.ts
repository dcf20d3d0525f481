// Writing D-Bus messages (little-endian) for everything berthd sends, on the bus and on the private
// socket. dbus-next's marshaller builds a chain of small buffers per array and re-parses each variant's
// signature: 0.3 ms per container in a GetManagedObjects reply, and 5 % of berthd's CPU on the start
// path. This one writes straight into one growing Buffer, with parsed signatures cached. Its output is
// byte-for-byte dbus-next's (test/api/marshal.test.ts), values in the same JS shapes (a{..} as an
// object, v as a Variant, t/x as bigint or integer number, ay as a Buffer), and bad values throw
// before anything is written.
//
// Marshalled: one element of an array of structs or dict entries, encoded once and copied into later
// messages. Such elements always start 8-aligned, so their bytes do not depend on where they land.

import { type Message, Variant } from "../../common/bus.js";

interface Type {
  readonly code: string;
  readonly children: readonly Type[];
  readonly align: number;
}

const ALIGN: Record<string, number> = {
  y: 1,
  g: 1,
  v: 1,
  n: 2,
  q: 2,
  b: 4,
  i: 4,
  u: 4,
  h: 4,
  s: 4,
  o: 4,
  a: 4,
  x: 8,
  t: 8,
  d: 8,
  "(": 8,
  "{": 8,
};
const MAX_ARRAY_BYTES = 1 << 26;
const MAX_SIGNATURE = 255;
const OBJECT_PATH = /^\/$|^(\/[A-Za-z0-9_]+)+$/;

/** A pre-encoded element of an array of structs or dict entries (for dicts: [key, value]). */
export class Marshalled {
  constructor(readonly bytes: Buffer) {}
}

const signatures = new Map<string, readonly Type[]>();

/** The complete types of a signature (cached: berthd sends few distinct ones). */
function parse(signature: string): readonly Type[] {
  const cached = signatures.get(signature);
  if (cached !== undefined) return cached;
  if (signature.length > MAX_SIGNATURE) throw new Error(`signature "${signature}" is too long`);
  let at = 0;
  const one = (): Type => {
    const code = signature[at++];
    if (code === undefined) throw new Error(`bad signature "${signature}": unexpected end`);
    const align = ALIGN[code];
    if (align === undefined) throw new Error(`bad signature "${signature}": unknown type "${code}"`);
    if (code === "a") return { code, children: [one()], align };
    if (code === "(" || code === "{") {
      const close = code === "(" ? ")" : "}";
      const children: Type[] = [];
      while (signature[at] !== close) children.push(one());
      at++;
      const basicKey = children[0] !== undefined && "ybnqiuxtdsogh".includes(children[0].code);
      if (code === "{" ? children.length !== 2 || !basicKey : children.length === 0) {
        throw new Error(`bad signature "${signature}": malformed ${code}${close}`);
      }
      return { code, children, align };
    }
    return { code, children: [], align };
  };
  const types: Type[] = [];
  while (at < signature.length) types.push(one());
  signatures.set(signature, types);
  return types;
}

function integer(value: unknown, min: number, max: number, code: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new Error(`"${code}" value ${String(value)} is not an integer in [${min}, ${max}]`);
  }
  return value;
}

function long(value: unknown, signed: boolean): bigint {
  const big =
    typeof value === "bigint"
      ? value
      : typeof value === "number" && Number.isInteger(value)
        ? BigInt(value)
        : undefined;
  const [min, max] = signed ? [-(1n << 63n), (1n << 63n) - 1n] : [0n, (1n << 64n) - 1n];
  if (big === undefined || big < min || big > max) {
    throw new Error(`"${signed ? "x" : "t"}" value ${String(value)} is not a 64-bit integer in range`);
  }
  return big;
}

function text(value: unknown, code: string): string {
  if (typeof value !== "string" || value.includes("\0")) {
    throw new Error(`"${code}" value ${JSON.stringify(value)} is not a string without NUL`);
  }
  if (code === "o" && !OBJECT_PATH.test(value)) throw new Error(`"${value}" is not an object path`);
  return value;
}

class Writer {
  buffer = Buffer.allocUnsafe(512);
  at = 0;
  readonly fds: number[] = [];

  private reserve(bytes: number): void {
    if (this.at + bytes <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.at + bytes) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.buffer.copy(grown, 0, 0, this.at);
    this.buffer = grown;
  }

  pad(align: number): void {
    const padding = (align - (this.at % align)) % align;
    this.reserve(padding);
    this.buffer.fill(0, this.at, this.at + padding);
    this.at += padding;
  }

  u8(value: number): void {
    this.reserve(1);
    this.buffer[this.at++] = value;
  }

  u32(value: number): void {
    this.pad(4);
    this.reserve(4);
    this.buffer.writeUInt32LE(value, this.at);
    this.at += 4;
  }

  bytes(data: Buffer): void {
    this.reserve(data.length);
    data.copy(this.buffer, this.at);
    this.at += data.length;
  }

  /** A string's bytes and its NUL, after a length of `lengthBytes` (4 for s/o, 1 for g). */
  string(value: string, lengthBytes: 1 | 4): void {
    const length = Buffer.byteLength(value);
    if (lengthBytes === 4) this.u32(length);
    else this.u8(length);
    this.reserve(length + 1);
    this.buffer.write(value, this.at, "utf8");
    this.at += length;
    this.buffer[this.at++] = 0;
  }

  value(type: Type, value: unknown): void {
    switch (type.code) {
      case "y":
        this.u8(integer(value, 0, 0xff, "y"));
        return;
      case "b":
        if (typeof value !== "boolean" && value !== 0 && value !== 1) {
          throw new Error(`"b" value ${String(value)} is not a boolean`);
        }
        this.u32(value ? 1 : 0);
        return;
      case "n":
      case "q": {
        const number =
          type.code === "n" ? integer(value, -0x8000, 0x7fff, "n") : integer(value, 0, 0xffff, "q");
        this.pad(2);
        this.reserve(2);
        if (type.code === "n") this.buffer.writeInt16LE(number, this.at);
        else this.buffer.writeUInt16LE(number, this.at);
        this.at += 2;
        return;
      }
      case "i":
        this.pad(4);
        this.reserve(4);
        this.buffer.writeInt32LE(integer(value, -0x80000000, 0x7fffffff, "i"), this.at);
        this.at += 4;
        return;
      case "u":
        this.u32(integer(value, 0, 0xffffffff, "u"));
        return;
      case "h":
        // The index of the fd in the message's list, as dbus-next numbers them.
        this.u32(this.fds.push(integer(value, 0, 0x7fffffff, "h")) - 1);
        return;
      case "x":
      case "t":
        this.pad(8);
        this.reserve(8);
        if (type.code === "x") this.buffer.writeBigInt64LE(long(value, true), this.at);
        else this.buffer.writeBigUInt64LE(long(value, false), this.at);
        this.at += 8;
        return;
      case "d":
        if (typeof value !== "number" || !Number.isFinite(value)) {
          throw new Error(`"d" value ${String(value)} is not a finite number`);
        }
        this.pad(8);
        this.reserve(8);
        this.buffer.writeDoubleLE(value, this.at);
        this.at += 8;
        return;
      case "s":
      case "o":
        this.string(text(value, type.code), 4);
        return;
      case "g": {
        const signature = text(value, "g");
        parse(signature);
        this.string(signature, 1);
        return;
      }
      case "v": {
        if (!(value instanceof Variant)) throw new Error(`"v" value ${String(value)} is not a Variant`);
        const types = parse(value.signature);
        if (types.length !== 1) throw new Error(`variant signature "${value.signature}" is not one type`);
        this.string(value.signature, 1);
        this.value(types[0]!, value.value);
        return;
      }
      case "(":
      case "{": {
        if (!Array.isArray(value) || value.length !== type.children.length) {
          throw new Error(`struct value for "${type.code}" must be an array of ${type.children.length}`);
        }
        this.pad(8);
        for (let i = 0; i < value.length; i++) this.value(type.children[i]!, value[i]);
        return;
      }
      case "a":
        this.array(type.children[0]!, value);
        return;
    }
  }

  private array(element: Type, value: unknown): void {
    this.u32(0);
    const lengthAt = this.at - 4;
    this.pad(element.align);
    const start = this.at;
    if (element.code === "y" && Buffer.isBuffer(value)) {
      this.bytes(value);
    } else if (Array.isArray(value)) {
      for (const item of value) {
        if (item instanceof Marshalled && element.align === 8) {
          this.pad(8);
          this.bytes(item.bytes);
        } else {
          this.value(element, item);
        }
      }
    } else if (element.code === "{" && typeof value === "object" && value !== null) {
      const [keyType, valueType] = element.children as [Type, Type];
      for (const [key, item] of Object.entries(value)) {
        this.pad(8);
        this.value(keyType, key);
        this.value(valueType, item);
      }
    } else {
      throw new Error(`array value ${String(value)} is not an array (or an object for a dict)`);
    }
    const length = this.at - start;
    if (length > MAX_ARRAY_BYTES) throw new Error(`array of ${length} bytes is over D-Bus's limit`);
    this.buffer.writeUInt32LE(length, lengthAt);
  }

  done(): Buffer {
    return this.buffer.subarray(0, this.at);
  }
}

/** One struct or dict entry (`signature` "(…)" or "{…}"), encoded for arrays of them. */
export function marshalled(signature: string, value: unknown[]): Marshalled {
  const types = parse(signature);
  if (types.length !== 1 || types[0]!.align !== 8 || types[0]!.children.length === 0) {
    throw new Error(`"${signature}" is not one struct or dict entry`);
  }
  const writer = new Writer();
  writer.value(types[0]!, value);
  // Copied out: the writer's buffer is mostly spare room.
  return new Marshalled(Buffer.from(writer.done()));
}

const PROTOCOL_VERSION = 1;
const LITTLE_ENDIAN = 0x6c;
/** Header field code and type, in dbus-next's order (which the byte-for-byte test relies on). */
const FIELDS: ReadonlyArray<[string, number, string]> = [
  ["path", 1, "o"],
  ["interface", 2, "s"],
  ["member", 3, "s"],
  ["errorName", 4, "s"],
  ["replySerial", 5, "u"],
  ["destination", 6, "s"],
  ["sender", 7, "s"],
  ["signature", 8, "g"],
  ["unixFds", 9, "u"],
];

/** The message's bytes, and the fds its "h" values name (sent alongside with SCM_RIGHTS). */
export function marshalMessage(message: Message): { data: Buffer; fds: number[] } {
  if (!message.serial) throw new Error("the message has no serial");
  const signature = message.signature ?? "";
  const values = message.body ?? [];
  const types = parse(signature);
  if (types.length !== values.length) {
    throw new Error(`signature "${signature}" has ${types.length} values, the body ${values.length}`);
  }
  const body = new Writer();
  for (let i = 0; i < types.length; i++) body.value(types[i]!, values[i]);
  const header = new Writer();
  header.u8(LITTLE_ENDIAN);
  header.u8(message.type);
  header.u8(message.flags ?? 0);
  header.u8(PROTOCOL_VERSION);
  header.u32(body.at);
  header.u32(message.serial);
  const present: unknown[] = [];
  for (const [name, code, type] of FIELDS) {
    const field =
      name === "unixFds" ? body.fds.length : (message as unknown as Record<string, unknown>)[name];
    // Empty strings and zeros are left out, as dbus-next does (an empty signature means no body).
    if (field) present.push([code, new Variant(type, field)]);
  }
  header.value(parse("a(yv)")[0]!, present);
  header.pad(8);
  return { data: Buffer.concat([header.done(), body.done()]), fds: body.fds };
}
