// Object paths use systemd's bus label escaping (sd_bus_path_encode/decode); the expected strings here
// are what `systemd-escape`-style sd-bus produces (e.g. busctl tree shows web_2d1 for "web-1").

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  containerPath,
  decodePath,
  encodePath,
  escapeLabel,
  parseObjectPath,
  processPath,
  unescapeLabel,
} from "../../src/common/bus-path.js";

describe("bus path escaping", () => {
  test("escapes like sd_bus_path_encode", () => {
    assert.equal(escapeLabel("web-1"), "web_2d1");
    assert.equal(escapeLabel("1web"), "_31web");
    assert.equal(escapeLabel("a.b_c"), "a_2eb_5fc");
    assert.equal(escapeLabel(""), "_");
    assert.equal(escapeLabel("é"), "_c3_a9");
    assert.equal(containerPath("web-1"), "/org/berth/Supervisor1/container/web_2d1");
    assert.equal(processPath("web-1", "exec.2"), "/org/berth/Supervisor1/container/web_2d1/process/exec_2e2");
  });

  test("round-trips every valid id, and rejects what encode cannot produce", () => {
    for (const id of ["web-1", "0", "A_b.c-d", "x".repeat(64), "9lives", ""]) {
      assert.equal(unescapeLabel(escapeLabel(id)), id);
      assert.equal(decodePath(encodePath("/p", id), "/p"), id);
    }
    assert.equal(unescapeLabel("bad-label"), undefined);
    assert.equal(unescapeLabel("_zz"), undefined);
    assert.equal(decodePath("/other/x", "/p"), undefined);
    assert.equal(decodePath("/p/a/b", "/p"), undefined);
  });

  test("parseObjectPath names the container and exec ids", () => {
    assert.deepEqual(parseObjectPath(containerPath("web-1")), { containerId: "web-1" });
    assert.deepEqual(parseObjectPath(processPath("web-1", "e-1")), { containerId: "web-1", execId: "e-1" });
    assert.equal(parseObjectPath("/org/berth/Supervisor1"), undefined);
    assert.equal(parseObjectPath(`${containerPath("a")}/other/b`), undefined);
  });
});
