#!/usr/bin/env node
// Screenshots of every page of the web UI, in English and Chinese, for the README and docs:
//   node scripts/screenshots.mjs [--model PATH]      -> docs/img/ui-<page>-<en|zh>.png
// It starts `qembed serve --kb` on a fresh knowledge base (the tiny generated test model unless --model names
// another), uploads the project's own docs to a collection "docs", searches them, compares three texts in the
// playground and lets the server page draw a few seconds of traffic. Needs chromium and fonts-noto-cjk (setup.sh).
import fs from "node:fs";
import path from "node:path";
import { ROOT, tinyGguf } from "../tests/cli/helpers.mjs";
import { startServer } from "../tests/server/server_helpers.mjs";
import { launchBrowser, openPage } from "../tests/web/web_helpers.mjs";

const modelArg = process.argv.indexOf("--model");
const model = modelArg > 0 ? process.argv[modelArg + 1] : tinyGguf();
const OUT = path.join(ROOT, "docs/img");
const dir = fs.mkdtempSync(path.join(ROOT, "build", "screenshots-"));

const server = await startServer(["--kb", path.join(dir, "kb.db")], { model });
const browser = await launchBrowser();
try {
  await fillKnowledgeBase(server.url);
  fs.mkdirSync(OUT, { recursive: true });
  for (const [lang, locale] of [["en", "en-US"], ["zh", "zh-CN"]]) {
    const page = await openPage(browser, server.url, { locale });
    await page.waitForSelector('#nav a[data-page="knowledge"]');
    await page.waitForSelector(".documents tbody tr");
    await shot(page, `knowledge-${lang}`);

    await page.click('#nav a[data-page="search"]');
    await page.waitForSelector(".collections-pick input");
    await page.selectOption('select[name="mode"]', "keyword");
    await page.fill('input[name="query"]', "memory bound");
    await page.click('form[data-form="search"] button[type="submit"]');
    await page.waitForSelector(".hit");
    await page.click('.hit [data-action="open"]');
    await page.waitForSelector(".viewer mark.passage");
    await shot(page, `search-${lang}`);

    await page.click('#nav a[data-page="playground"]');
    await page.click('[data-action="compare"]');
    await page.waitForSelector(".token");
    await shot(page, `playground-${lang}`);

    await page.click('#nav a[data-page="server"]');
    await page.waitForSelector('[data-fact="server.model"]');
    for (let i = 0; i < 20; ++i) {
      await fetch(`${server.url}/v1/embeddings`, { method: "POST", headers: { "content-type": "application/json" },
        body: JSON.stringify({ input: Array.from({ length: 8 }, (_, k) => `sample text ${i} ${k}`) }) });
      await new Promise((r) => setTimeout(r, 700));
    }
    await shot(page, `server-${lang}`);
    if (page.errors.length) throw new Error(`console errors: ${page.errors.join("\n")}`);
    await page.context().close();
  }
} finally {
  await browser.close();
  await server.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}

async function shot(page, name) {
  await page.evaluate(() => window.scrollTo(0, 0));
  const file = path.join(OUT, `ui-${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  console.log(`screenshots: ${path.relative(ROOT, file)}`);
}

async function fillKnowledgeBase(url) {
  const created = await fetch(`${url}/v1/kb/collections`, { method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "docs", chunk_tokens: 256 }) });
  if (created.status !== 201) throw new Error(`create: ${await created.text()}`);
  const form = new FormData();
  for (const file of ["README.md", ...fs.readdirSync(path.join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)]) {
    form.append("file", new Blob([fs.readFileSync(path.join(ROOT, file))]), path.basename(file));
  }
  const r = await fetch(`${url}/v1/kb/collections/docs/documents?wait=true`, { method: "POST", body: form });
  if (r.status !== 200) throw new Error(`upload: ${await r.text()}`);
}
