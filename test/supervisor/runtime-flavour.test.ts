import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { runtimeErrorText } from "../../src/berthd/runtime/client.js";
import { cgroupsPath, runtimeGlobalArgs } from "../../src/berthd/runtime/flavour.js";

describe("runtime command lines", () => {
  test("the systemd cgroup driver's flag is spelled per runtime; cgroupfs adds nothing", () => {
    const runc = { name: "runc", path: "/usr/sbin/runc", args: ["--debug"] };
    const crun = { name: "crun", path: "/usr/bin/crun", args: [] };
    assert.deepEqual(runtimeGlobalArgs(runc, "cgroupfs"), ["--debug"]);
    assert.deepEqual(runtimeGlobalArgs(runc, "systemd"), ["--debug", "--systemd-cgroup"]);
    assert.deepEqual(runtimeGlobalArgs(crun, "systemd"), ["--cgroup-manager=systemd"]);
    assert.equal(cgroupsPath("web-1", "cgroupfs"), "/berth/web-1");
    assert.equal(cgroupsPath("web-1", "systemd"), "berth.slice:berth:web-1");
  });

  test("runc's logrus lines are reduced to their message; other text is kept", () => {
    const stderr =
      'time="2026-11-27T09:00:00Z" level=error msg="container \\"x\\" does not exist"\n\nplain words\n';
    assert.equal(runtimeErrorText(stderr), 'container "x" does not exist; plain words');
  });
});
