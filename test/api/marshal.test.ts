// berthd's own marshaller (src/berthd/dbus/marshal.ts) against dbus-next's: the same bytes for every
// shape berthd sends and for the edge values of each type, pre-encoded entries identical to encoding
// in place, and values D-Bus cannot carry refused before anything is written.

import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, test } from "node:test";
import { marshalled, marshalMessage } from "../../src/berthd/dbus/marshal.js";
import { Message, MessageType, Variant } from "../../src/common/bus.js";

const require = createRequire(import.meta.url);
const compat = require("dbus-next/lib/marshall-compat.js") as {
  marshallMessage(message: Message): [Buffer, number[]];
};

/** A reply serial: dbus-next's typings say string, its marshaller wants the number the wire has. */
const REPLY_SERIAL = 3 as unknown as string;

/** Our bytes and fds, and dbus-next's for the same message (it consumes its message, so a twin). */
function both(fields: ConstructorParameters<typeof Message>[0]): [Buffer, Buffer, number[], number[]] {
  const ours = new Message(fields);
  ours.serial = 7;
  const theirs = new Message(fields);
  theirs.serial = 7;
  const { data, fds } = marshalMessage(ours);
  const [reference, referenceFds] = compat.marshallMessage(theirs);
  return [data, reference, fds, referenceFds];
}

const props = (i: number) => ({
  Id: new Variant("s", `c-${i}`),
  Labels: new Variant("a{ss}", i % 2 === 0 ? {} : { app: "wéb", tier: "ü" }),
  Terminal: new Variant("b", i % 3 === 0),
  Pid: new Variant("u", 4_294_967_295 - i),
  ExitCode: new Variant("i", -2_147_483_648 + i),
  CreatedAt: new Variant("t", 18_446_744_073_709_551_615n - BigInt(i)),
  Nested: new Variant("v", new Variant("as", ["a", "", "ccc"])),
});

// [signature, body] pairs: what berthd sends, and every type's edges.
const CASES: Array<[string, unknown[]]> = [
  ["", []],
  ["s", [""]],
  ["s", ["ünïcödé ✓"]],
  ["o", ["/org/berth/Supervisor1/container/web_2d1"]],
  ["g", ["a{oa{sa{sv}}}"]],
  ["ybnqiuxtd", [255, true, -32768, 65535, -1, 0, -(2n ** 63n) + 1n, 2n ** 64n - 1n, -1.5]],
  ["yyyt", [1, 2, 3, 5]],
  ["xt", [-5, Number.MAX_SAFE_INTEGER]],
  ["a{sv}", [props(1)]],
  ["a{sv}", [{}]],
  ["at", [[]]],
  ["a(ssuo)", [[]]],
  [
    "a(ssuo)",
    [
      [
        ["web", "running", 42, "/c/web"],
        ["db", "created", 0, "/c/db"],
      ],
    ],
  ],
  ["ay", [Buffer.from([0, 1, 2, 255])]],
  ["aay", [[Buffer.from("x"), Buffer.alloc(0)]]],
  ["sa{sv}as", ["org.berth.Supervisor1.Container", { Status: new Variant("s", "stopped") }, ["Pid"]]],
  ["oa{sa{sv}}", ["/c/x", { "org.berth.Supervisor1.Container": props(2) }]],
  ["a{oa{sa{sv}}}", [Object.fromEntries([0, 1, 2, 3].map((i) => [`/c/${i}`, { iface: props(i) }]))]],
  ["itb", [-1, 1_764_240_000_000_000n, false]],
  ["(y(t)ay)", [[1, [2n], Buffer.from("z")]]],
  ["hhh", [10, 11, 12]],
  ["v", [new Variant("(sv)", ["k", new Variant("d", 0.25)])]],
];

describe("berthd's D-Bus marshaller", () => {
  test("every case: the same bytes and fds as dbus-next", () => {
    for (const [signature, body] of CASES) {
      const [data, reference, fds, referenceFds] = both({
        type: MessageType.METHOD_RETURN,
        replySerial: REPLY_SERIAL,
        destination: ":1.42",
        sender: ":1.0",
        signature,
        body,
      });
      assert.ok(data.equals(reference), `"${signature}": bytes differ from dbus-next's`);
      assert.deepEqual(fds, referenceFds, `"${signature}": fds`);
    }
  });

  test("headers of signals, errors and calls, with and without a body", () => {
    const headers: Array<ConstructorParameters<typeof Message>[0]> = [
      {
        type: MessageType.SIGNAL,
        path: "/org/berth/Supervisor1",
        interface: "org.berth.Supervisor1.Manager",
        member: "ContainerNew",
        signature: "so",
        body: ["web", "/org/berth/Supervisor1/container/web"],
      },
      { type: MessageType.SIGNAL, path: "/a", interface: "a.b", member: "OOM" },
      {
        type: MessageType.ERROR,
        errorName: "org.berth.Supervisor1.Error.NoSuchContainer",
        replySerial: REPLY_SERIAL,
        destination: ":1.7",
        signature: "s",
        body: ['no container "x"'],
      },
      { type: MessageType.METHOD_CALL, flags: 5, destination: "org.x", path: "/", member: "Ping" },
    ];
    for (const fields of headers) {
      const [data, reference] = both(fields);
      assert.ok(data.equals(reference), `${fields.member ?? fields.errorName}: bytes differ`);
    }
  });

  test("pre-encoded entries make the same message as the values they encode", () => {
    const objects = Object.fromEntries(
      Array.from({ length: 50 }, (_, i) => [`/c/n${i}`, { "org.berth.Supervisor1.Container": props(i) }]),
    );
    const entries = Object.entries(objects).map(([path, value]) => marshalled("{oa{sa{sv}}}", [path, value]));
    const [fromValues] = both({
      type: MessageType.METHOD_RETURN,
      replySerial: REPLY_SERIAL,
      signature: "a{oa{sa{sv}}}",
      body: [objects],
    });
    const message = new Message({
      type: MessageType.METHOD_RETURN,
      replySerial: REPLY_SERIAL,
      signature: "a{oa{sa{sv}}}",
      body: [entries],
    });
    message.serial = 7;
    assert.ok(marshalMessage(message).data.equals(fromValues));
    const structs = [marshalled("(ssuo)", ["a", "b", 1, "/x"]), marshalled("(ssuo)", ["cc", "", 0, "/"])];
    const [structBytes] = both({
      type: MessageType.METHOD_RETURN,
      replySerial: REPLY_SERIAL,
      signature: "ya(ssuo)",
      body: [
        1,
        [
          ["a", "b", 1, "/x"],
          ["cc", "", 0, "/"],
        ],
      ],
    });
    const withStructs = new Message({
      type: MessageType.METHOD_RETURN,
      replySerial: REPLY_SERIAL,
      signature: "ya(ssuo)",
      body: [1, structs],
    });
    withStructs.serial = 7;
    assert.ok(marshalMessage(withStructs).data.equals(structBytes));
    assert.throws(() => marshalled("s", ["x"] as unknown as unknown[]), /not one struct or dict entry/);
  });

  test("values D-Bus cannot carry throw, naming the problem", () => {
    const bad: Array<[string, unknown[], RegExp]> = [
      ["s", ["a\0b"], /without NUL/],
      ["s", [5], /not a string/],
      ["o", ["no/slash"], /not an object path/],
      ["o", ["/trailing/"], /not an object path/],
      ["u", [-1], /not an integer/],
      ["u", [2 ** 32], /not an integer/],
      ["i", [1.5], /not an integer/],
      ["y", [256], /not an integer/],
      ["t", [-1n], /64-bit/],
      ["x", [2n ** 63n], /64-bit/],
      ["t", ["12"], /64-bit/],
      ["d", [Number.NaN], /finite/],
      ["b", ["yes"], /boolean/],
      ["v", ["plain"], /not a Variant/],
      ["v", [new Variant("ss", ["a", "b"])], /not one type/],
      ["(su)", [["a"]], /array of 2/],
      ["as", ["abc"], /not an array/],
      ["a{sv}", [{ k: "not a variant" }], /not a Variant/],
      ["s", [undefined], /not a string/],
      ["ss", ["one"], /has 2 values, the body 1/],
      ["a{vs}", [{}], /malformed/],
      ["q", [], /has 1 values/],
    ];
    for (const [signature, body, error] of bad) {
      const message = new Message({
        type: MessageType.METHOD_RETURN,
        replySerial: REPLY_SERIAL,
        signature: "",
        body: [],
      });
      Object.assign(message, { signature, body });
      message.serial = 7;
      assert.throws(() => marshalMessage(message), error, `"${signature}" ${String(body[0])}`);
    }
  });
});
