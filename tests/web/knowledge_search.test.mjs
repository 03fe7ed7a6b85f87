// The main flow as a user does it in a real browser: create a collection, drop a PDF, a DOCX and a Markdown file on
// the page, watch them get indexed, search, see the citation (document, page, section), open it in the document's
// text; delete a document and see it gone from search. No console errors on the way.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { makePdf } from "../cli/kb_docs.mjs";
import { makeDocx } from "./web_docs.mjs";
import { model } from "../cli/helpers.mjs";
import { dropFiles, launchBrowser, openPage, startKbServer } from "./web_helpers.mjs";

let server;
let browser;

before(async () => {
  server = await startKbServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const FILES = [
  { name: "manual.pdf", buffer: makePdf([
    ["Chapter one explains the setup of the machine. Plug it in and wait.",
      ...Array.from({ length: 8 }, (_, i) => `Setup step ${i + 1}: check the cables, the fuse and the switch.`)].join(" "),
    ["Chapter two covers the modes.",
      ...Array.from({ length: 6 }, (_, i) => `Mode ${i + 1} keeps the motor at a steady speed for the task.`),
      "The zeppelin mode lifts the cabinet. Use it with care."].join(" ")]) },
  { name: "policy.docx", buffer: makeDocx([["Refunds", "Heading1"], ["A refund is paid within fourteen days by marmalade transfer."]]) },
  { name: "notes.md", buffer: Buffer.from("# Garden\n\n## Herbs\n\nBasil grows best beside the quokka statue.\n") },
];

async function search(page, query) {
  await page.click('#nav a[data-page="search"]');
  await page.selectOption('select[name="mode"]', "keyword");
  await page.fill('input[name="query"]', query);
  await page.click('form[data-form="search"] button[type="submit"]');
  await page.waitForSelector(".results p, .results ol");
}

test("create a collection, upload three formats, search with citations, open, delete", async () => {
  const page = await openPage(browser, server.url);
  await page.waitForSelector('#nav a[data-page="knowledge"]');
  assert.match(await page.title(), /qembed/);

  assert.equal(await page.locator('form[data-form="create-collection"] input[name="rerank"]').count(), 1);
  await page.fill('form[data-form="create-collection"] input[name="name"]', "handbook");
  await page.fill('form[data-form="create-collection"] input[name="chunk_tokens"]', "32");
  await page.fill('form[data-form="create-collection"] input[name="chunk_overlap"]', "4");
  await page.click('form[data-form="create-collection"] button[type="submit"]');
  await page.waitForSelector('.collection-item.active[data-collection="handbook"]');

  await dropFiles(page, '[data-drop="files"]', FILES);
  // Each file's row ends "indexed", and the upload's total says all three are done.
  for (const f of FILES) {
    await page.waitForSelector(`.upload-files li[data-file="${f.name}"][data-status="indexed"]`, { timeout: 60_000 });
  }
  await page.waitForFunction(() => document.querySelector(".upload-total")?.textContent.includes("3 of 3 done"));
  await page.waitForFunction(() => document.querySelectorAll(".documents tbody tr").length === 3);
  const pdfCells = await page.locator('.documents tr[data-document="manual.pdf"] td').allTextContents();
  assert.equal(pdfCells[1], "indexed");
  assert.equal(pdfCells[2], "2", "the PDF has 2 pages");
  assert.ok(Number(pdfCells[3]) >= 1, "chunks");

  // The PDF's word is on page 2: the citation says so, the word is highlighted.
  await search(page, "zeppelin");
  const first = page.locator(".hit").first();
  assert.equal(await first.getAttribute("data-document"), "manual.pdf");
  assert.match(await first.locator(".citation").textContent(), /manual\.pdf · p\. 2/);
  assert.equal((await first.locator(".hit-text mark").first().textContent()).toLowerCase(), "zeppelin");
  assert.match(await first.locator(".score").textContent(), /score \d/);
  // No reranker on this server: the Rerank toggle is there, disabled and unchecked, and its tooltip says why.
  const rerank = page.locator('form[data-form="search"] input[name="rerank"]');
  assert.equal(await rerank.count(), 1);
  assert.equal(await rerank.isDisabled(), true);
  assert.equal(await rerank.isChecked(), false);
  assert.match(await page.getAttribute('form[data-form="search"] label[data-field="rerank"]', "title"),
    /needs a reranker model.*--reranker-model/);
  assert.equal(await page.locator(".hit .rerank-score").count(), 0);

  // Opening it shows the passage in its place in the document's text.
  await first.locator('[data-action="open"]').click();
  await page.waitForSelector(".viewer mark.passage");
  assert.match(await page.textContent(".viewer h2"), /manual\.pdf/);
  assert.match(await page.textContent(".viewer mark.passage"), /zeppelin/);
  assert.match(await page.textContent(".viewer .document-text"), /Chapter one explains the setup/);

  await search(page, "marmalade");
  assert.equal(await page.locator(".hit").first().getAttribute("data-document"), "policy.docx");

  await search(page, "quokka");
  const md = page.locator(".hit").first();
  assert.equal(await md.getAttribute("data-document"), "notes.md");
  assert.match(await md.locator(".citation").textContent(), /notes\.md · Garden > Herbs/);

  // Delete the Markdown file: gone from the list, and from search at once.
  await page.click('#nav a[data-page="knowledge"]');
  await page.waitForSelector('.documents tr[data-document="notes.md"]');
  await page.click('.documents tr[data-document="notes.md"] [data-action="delete-document"]');
  await page.waitForFunction(() => !document.querySelector('.documents tr[data-document="notes.md"]'));
  await search(page, "quokka");
  assert.equal(await page.locator('.hit[data-document="notes.md"]').count(), 0);
  assert.match(await page.textContent(".results"), /No results/);

  assert.deepEqual(page.errors, []);
});

test("the page and its assets: content types, caching, CSP, nosniff; a stale asset version is a 404", async () => {
  const index = await fetch(`${server.url}/`);
  assert.equal(index.status, 200);
  assert.equal(index.headers.get("content-type"), "text/html; charset=utf-8");
  assert.equal(index.headers.get("cache-control"), "no-cache");
  const csp = index.headers.get("content-security-policy");
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.equal(index.headers.get("x-content-type-options"), "nosniff");
  const html = await index.text();
  const script = html.match(/src="(\/ui\/[0-9a-f]{12}\/app\.js)"/);
  assert.ok(script, html);
  const js = await fetch(server.url + script[1]);
  assert.equal(js.status, 200);
  assert.equal(js.headers.get("content-type"), "text/javascript; charset=utf-8");
  assert.match(js.headers.get("cache-control"), /max-age=31536000, immutable/);
  const css = await fetch(server.url + script[1].replace("app.js", "style.css"));
  assert.equal(css.headers.get("content-type"), "text/css; charset=utf-8");
  const icon = await fetch(server.url + script[1].replace("app.js", "favicon.svg"));
  assert.equal(icon.headers.get("content-type"), "image/svg+xml");
  assert.equal((await fetch(`${server.url}/ui/000000000000/app.js`)).status, 404);
  assert.equal((await fetch(server.url + script[1].replace("app.js", "nope.js"))).status, 404);
  // The root still embeds for TEI clients that POST to it.
  const embed = await fetch(`${server.url}/`, { method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ inputs: "hello" }) });
  assert.equal(embed.status, 200);
});

test("documents are listed 50 a page, with Next and Previous", async () => {
  const post = (p, body) => fetch(server.url + p, { method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify(body) });
  assert.equal((await post("/v1/kb/collections", { name: "many" })).status, 201);
  const documents = Array.from({ length: 120 }, (_, i) => ({ name: `note-${String(i).padStart(3, "0")}.txt`,
    text: `Note number ${i} about topic ${i * 7}.` }));
  for (const part of [documents.slice(0, 60), documents.slice(60)]) {  // within --max-upload-files (100)
    assert.equal((await post("/v1/kb/collections/many/documents?wait=true", { documents: part })).status, 200);
  }

  const page = await openPage(browser, server.url);
  await page.click('.collection-item[data-collection="many"]');
  const rows = () => page.locator(".documents tbody tr").evaluateAll((trs) => trs.map((tr) => tr.dataset.document));
  const pager = (label) => page.locator(".pager button", { hasText: label });
  await page.waitForSelector('.documents tr[data-document="note-000.txt"]');
  let names = await rows();
  assert.equal(names.length, 50);
  assert.equal(names.at(-1), "note-049.txt");
  assert.equal(await pager("Previous").isDisabled(), true);
  await pager("Next").click();
  await page.waitForSelector('.documents tr[data-document="note-050.txt"]');
  await pager("Next").click();
  await page.waitForSelector('.documents tr[data-document="note-119.txt"]');
  names = await rows();
  assert.equal(names.length, 20);
  assert.equal(await pager("Next").isDisabled(), true);
  assert.match(await page.textContent(".pager"), /Page 3/);
  await pager("Previous").click();
  await page.waitForSelector('.documents tr[data-document="note-050.txt"]');
  assert.equal((await rows())[0], "note-050.txt");
  assert.deepEqual(page.errors, []);
});

// With a reranker on the server the toggle is enabled, starts checked for a collection that reranks by default, and
// each hit shows the rerank score beside the score; unchecked, the search does not rerank.
test("with a reranker: the Rerank toggle follows the collection's default and hits show the rerank score",
  async () => {
    const reranker = model("rr-tiny-F32.gguf", ["--shape", "tiny", "--format", "gguf", "--type", "F32", "--reranker",
      "--seed", "5"]);
    const rr = await startKbServer(["--reranker-model", reranker]);
    try {
      const post = (p, body) => fetch(rr.url + p, { method: "POST", headers: { "content-type": "application/json" },
        body: JSON.stringify(body) });
      assert.equal((await post("/v1/kb/collections", { name: "ranked", rerank: true })).status, 201);
      assert.equal((await post("/v1/kb/collections/ranked/documents?wait=true", { documents: [
        { name: "a.txt", text: "The quokka smiles at visitors on the island." },
        { name: "b.txt", text: "A quokka eats leaves at night." }] })).status, 200);
      const page = await openPage(browser, rr.url);
      await page.click('#nav a[data-page="search"]');
      const rerank = page.locator('form[data-form="search"] input[name="rerank"]');
      await page.waitForFunction(() => {
        const box = document.querySelector('form[data-form="search"] input[name="rerank"]');
        return box && !box.disabled && box.checked;
      });
      await page.selectOption('select[name="mode"]', "keyword");
      await page.fill('input[name="query"]', "quokka");
      await page.click('form[data-form="search"] button[type="submit"]');
      await page.waitForSelector(".results ol");
      assert.equal(await page.locator(".hit").count(), 2);
      assert.match(await page.locator(".hit .rerank-score").first().textContent(), /rerank 0\.\d{4}|rerank 1\.0000/);
      await rerank.uncheck();
      await page.click('form[data-form="search"] button[type="submit"]');
      await page.waitForFunction(() => document.querySelectorAll(".hit").length === 2 &&
        document.querySelectorAll(".hit .rerank-score").length === 0);
      assert.deepEqual(page.errors, []);
    } finally {
      await rr.stop();
    }
  });
