// Waiting for what another process writes: a file to appear, or text to show up in it.

import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";

/** Waits until `path` exists; rejects after `timeoutMs`. */
export async function waitForFile(path: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`${path} did not appear within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Waits until the file at `path` contains `text` (the log grows as output arrives); rejects after `timeoutMs`. */
export async function waitForText(path: string, text: string, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const content = await readFile(path, "utf8").catch(() => "");
    if (content.includes(text)) return content;
    if (Date.now() > deadline)
      throw new Error(`${path} has no ${JSON.stringify(text)} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
