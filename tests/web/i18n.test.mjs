// The Chinese UI: every page walked in zh-CN (the browser's language picks it), with data on it (a collection,
// documents, search results, a heat map, charts); any visible text that is still an English string of the UI's
// table fails the test. The switch in the header changes the language and is remembered.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { STRINGS_EN } from "../../web/strings_en.js";
import { STRINGS_ZH } from "../../web/strings_zh.js";
import { launchBrowser, openPage, startKbServer } from "./web_helpers.mjs";

// English that stays English in Chinese text: names and units people write in Latin letters.
const SAME_IN_CHINESE = ["qembed", "API", "Authorization", "PDF", "DOCX", "HTML", "Markdown", "SIMD", "EOS", "ID",
  "Qwen3-Embedding", "kb reindex", "p50", "p99", "--kb PATH"];

let server;
let browser;

before(async () => {
  server = await startKbServer();
  browser = await launchBrowser();
  const call = (method, path, body) => fetch(server.url + path, { method, headers: { "content-type": "application/json" },
    body: body && JSON.stringify(body) });
  assert.equal((await call("POST", "/v1/kb/collections", { name: "手册" })).status, 201);
  const r = await call("POST", `/v1/kb/collections/${encodeURIComponent("手册")}/documents?wait=true`,
    { documents: [{ name: "guide.md", text: "# Setup\n\nThe pump needs water before it starts." }] });
  assert.equal(r.status, 200);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** The English strings' fixed parts ({placeholders} removed) that hold at least three Latin letters in a row. */
function englishFragments() {
  const out = new Set();
  for (const [key, text] of Object.entries(STRINGS_EN)) {
    if (STRINGS_ZH[key] === text) continue;  // the same in both (none today; a proper noun would be)
    for (let part of text.split(/\{\w+\}/)) {
      for (const name of SAME_IN_CHINESE) part = part.replaceAll(name, " ");
      part = part.trim().replace(/^[\s·:,.()–—-]+|[\s·:,.()–—-]+$/g, "");
      if (/[A-Za-z]{3}/.test(part)) out.add(part);
    }
  }
  return [...out];
}

async function visibleText(page) {
  return page.evaluate(() => {
    const placeholders = [...document.querySelectorAll("input[placeholder], textarea[placeholder]")]
      .filter((e) => e.offsetParent !== null).map((e) => e.placeholder);
    return [document.title, document.body.innerText, ...placeholders].join("\n");
  });
}

// Also what a script prints by mistake: "null", "undefined", "NaN", "[object Object]".
function untranslated(text, fragments) {
  const leaks = text.match(/\b(null|undefined|NaN)\b|\[object \w+\]/g) || [];
  return [...fragments.filter((f) => text.includes(f)), ...leaks];
}

test("every page in Chinese shows no English string of the UI", async () => {
  const fragments = englishFragments();
  assert.ok(fragments.length > 80, `only ${fragments.length} fragments`);
  const page = await openPage(browser, server.url, { locale: "zh-CN" });
  await page.waitForSelector('#nav a[data-page="knowledge"]');
  assert.equal(await page.getAttribute("html", "lang"), "zh-CN");
  assert.equal(await page.textContent('#nav a[data-page="knowledge"]'), "知识库");

  const found = {};
  // Knowledge, with its collection, documents table and the create form.
  await page.waitForSelector('.documents tr[data-document="guide.md"]');
  found.knowledge = untranslated(await visibleText(page), fragments);

  await page.click('#nav a[data-page="search"]');
  await page.waitForSelector(".collections-pick input");
  await page.fill('input[name="query"]', "pump");
  await page.click('form[data-form="search"] button[type="submit"]');
  await page.waitForSelector(".hit");
  await page.click('.hit [data-action="open"]');
  await page.waitForSelector(".viewer mark.passage");
  found.search = untranslated(await visibleText(page), fragments);

  await page.click('#nav a[data-page="playground"]');
  await page.click('[data-action="compare"]');
  await page.waitForSelector(".heatmap td");
  await page.waitForSelector(".token");
  found.playground = untranslated(await visibleText(page), fragments);

  await page.click('#nav a[data-page="server"]');
  await page.waitForSelector('[data-chart="latency"]');
  found.server = untranslated(await visibleText(page), fragments);

  for (const [name, list] of Object.entries(found)) assert.deepEqual(list, [], `untranslated on ${name}`);
  assert.deepEqual(page.errors, []);
});

test("the header switch changes the language and is remembered", async () => {
  const page = await openPage(browser, server.url, { locale: "zh-CN" });
  await page.waitForSelector('#nav a[data-page="search"]');
  await page.selectOption("#lang-select", "en");
  await page.waitForFunction(() => document.querySelector('#nav a[data-page="search"]').textContent === "Search");
  assert.equal(await page.getAttribute("html", "lang"), "en");
  await page.reload();
  await page.waitForSelector('#nav a[data-page="search"]');
  assert.equal(await page.textContent('#nav a[data-page="search"]'), "Search");
  assert.deepEqual(page.errors, []);
});
