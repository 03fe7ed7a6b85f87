// Relevance labels end to end: thumbs up/down on search results in the browser, `qembed kb labels export` writes
// them as BEIR files, and `qembed kb eval` reads those files and scores the judged queries.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { qembed, tinyGguf } from "../cli/helpers.mjs";
import { startServer } from "../server/server_helpers.mjs";
import { launchBrowser, openPage } from "./web_helpers.mjs";

let dir;
let server;
let browser;

const DOCS = [
  { name: "refunds.md", text: "# Refunds\n\nA refund reaches your card within fourteen days." },
  { name: "shipping.md", text: "# Shipping\n\nParcels ship within two days; a refund of shipping costs is rare." },
  { name: "returns.md", text: "# Returns\n\nReturn the parcel unopened within thirty days." },
];

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "qembed-labels-"));
  server = await startServer(["--kb", path.join(dir, "kb.db")]);
  browser = await launchBrowser();
  const post = (p, body) => fetch(server.url + p, { method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify(body) });
  assert.equal((await post("/v1/kb/collections", { name: "faq" })).status, 201);
  assert.equal((await post("/v1/kb/collections/faq/documents?wait=true", { documents: DOCS })).status, 200);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function search(page, query) {
  await page.fill('input[name="query"]', query);
  await page.selectOption('select[name="mode"]', "keyword");
  await page.click('form[data-form="search"] button[type="submit"]');
  await page.waitForSelector(".hit");
}

async function judge(page, document, label) {
  const hit = page.locator(`.hit[data-document="${document}"]`);
  await hit.locator(`[data-label="${label}"]`).click();
  await hit.locator(`[data-label="${label}"].chosen`).waitFor();
}

test("label results in the browser, export them as BEIR, evaluate them", async () => {
  const page = await openPage(browser, `${server.url}/#/search`);
  await page.waitForSelector(".collections-pick input");
  await search(page, "refund");
  await judge(page, "refunds.md", "relevant");
  await judge(page, "shipping.md", "not-relevant");
  await judge(page, "shipping.md", "relevant");  // a change of mind replaces the first judgement
  await judge(page, "shipping.md", "not-relevant");
  await search(page, "unopened");
  await judge(page, "returns.md", "relevant");
  assert.deepEqual(page.errors, []);

  // The route refuses a document that does not exist.
  const bad = await fetch(`${server.url}/v1/kb/collections/faq/labels`, { method: "POST",
    headers: { "content-type": "application/json" }, body: JSON.stringify({ query: "x", document: "nope.md", relevant: true }) });
  assert.equal(bad.status, 404);

  const out = path.join(dir, "beir");
  const r = qembed(["kb", "labels", "export", "--db", path.join(dir, "kb.db"), "--collection", "faq", "--out", out]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { collection: "faq", out, labels: 3, relevant: 2, queries: 2, documents: 3, skipped: 0 });
  const lines = (f) => fs.readFileSync(path.join(out, f), "utf8").trim().split("\n");
  assert.deepEqual(lines("queries.jsonl").map((l) => JSON.parse(l)), [{ _id: "q1", text: "refund" }, { _id: "q2", text: "unopened" }]);
  assert.deepEqual(lines("qrels.tsv"), ["query-id\tcorpus-id\tscore", "q1\trefunds.md\t1", "q1\tshipping.md\t0", "q2\treturns.md\t1"]);
  const corpus = lines("corpus.jsonl").map((l) => JSON.parse(l));
  assert.deepEqual(corpus.map((d) => d._id), ["refunds.md", "shipping.md", "returns.md"]);
  assert.match(corpus[0].text, /within fourteen days/);

  const evalDb = path.join(dir, "eval.db");
  const e = qembed(["kb", "eval", "--db", evalDb, "--collection", "labelled", "--model", tinyGguf(),
    "--corpus", path.join(out, "corpus.jsonl"), "--queries", path.join(out, "queries.jsonl"),
    "--qrels", path.join(out, "qrels.tsv"), "--mode", "keyword"]);
  assert.equal(e.status, 0, e.stderr);
  const metrics = JSON.parse(e.stdout);
  assert.equal(metrics.queries, 2);
  assert.equal(metrics.documents, 3);
  // Keyword search ranks each query's relevant document first: the words are only there.
  assert.equal(metrics["mrr@10"], 1);
});
