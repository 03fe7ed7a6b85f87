// The browser tests' set-up: `qembed serve --kb` on the tiny generated model with a fresh knowledge base, and
// Debian's chromium driven headless by playwright-core, with every console error and page error collected (a test
// ends by asserting there were none: a missing favicon or a CSP violation is one).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { startServer } from "../server/server_helpers.mjs";

export const CHROMIUM = process.env.QEMBED_CHROMIUM || "/usr/bin/chromium";

/** A server with a new, empty knowledge base in a temporary folder; `args` are extra serve flags. */
export async function startKbServer(args = []) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "qembed-web-"));
  const server = await startServer(["--kb", path.join(dir, "kb.db"), ...args]);
  const stop = server.stop;
  server.stop = async () => {
    const r = await stop();
    fs.rmSync(dir, { recursive: true, force: true });
    return r;
  };
  return server;
}

export async function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
}

/** A new page in its own context (its own sessionStorage/localStorage) for `locale`; .errors collects problems. */
export async function openPage(browser, url, { locale = "en-US" } = {}) {
  const context = await browser.newContext({ locale, viewport: { width: 1360, height: 900 } });
  const page = await context.newPage();
  page.errors = [];
  page.on("console", (m) => {
    if (m.type() === "error") page.errors.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => page.errors.push(`page error: ${e.message}`));
  page.on("dialog", (d) => d.accept());  // confirm() before deletions
  await page.goto(url);
  return page;
}

/** Drops files on an element as a user dragging them from the desktop would: {name, buffer}. */
export async function dropFiles(page, selector, files) {
  const payload = files.map((f) => ({ name: f.name, base64: Buffer.from(f.buffer).toString("base64") }));
  const transfer = await page.evaluateHandle((items) => {
    const dt = new DataTransfer();
    for (const { name, base64 } of items) {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      dt.items.add(new File([bytes], name));
    }
    return dt;
  }, payload);
  await page.dispatchEvent(selector, "drop", { dataTransfer: transfer });
}
