// The Playground (heat map of 3 texts, the dimensions slider, the token view with EOS) and the Server page (model
// and hardware facts, live charts from /metrics) in a real browser.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { launchBrowser, openPage, startKbServer } from "./web_helpers.mjs";

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

test("playground: a 3 x 3 heat map, dimensions change it, tokens end in EOS", async () => {
  const info = await (await fetch(`${server.url}/info`)).json();
  const page = await openPage(browser, `${server.url}/#/playground`);
  await page.waitForSelector('[data-action="compare"]');
  assert.equal(await page.locator("textarea[data-text]").count(), 3);
  await page.click('[data-action="compare"]');
  await page.waitForSelector(".heatmap tbody tr");
  assert.equal(await page.locator(".heatmap tbody tr").count(), 3);
  assert.equal(await page.locator(".heatmap td").count(), 9);
  const cell = async (i, j) => Number((await page.textContent(`.heatmap td[data-cell="${i},${j}"]`)).split(/\s/)[0]);
  for (let i = 0; i < 3; ++i) assert.ok(Math.abs((await cell(i, i)) - 1) < 1e-3, "a text is identical to itself");
  const full01 = await cell(0, 1);
  assert.ok(full01 > -1 && full01 < 1);
  assert.equal(await page.textContent('[data-value="dimensions"]'), String(info.embedding_dimensions));
  // The slider's first stop: fewer dimensions, other similarities (computed by the server from truncated vectors).
  await page.locator('input[name="dimensions"]').fill("0");
  await page.waitForFunction((full) => document.querySelector('[data-value="dimensions"]').textContent !== String(full),
    info.embedding_dimensions);
  await page.waitForFunction((v) => {
    const td = document.querySelector('.heatmap td[data-cell="0,1"]');
    return td && Number(td.textContent.split(/\s/)[0]) !== v;
  }, full01);
  // The token view: one block per text, each ending in the EOS the server appends.
  assert.equal(await page.locator("[data-tokens]").count(), 3);
  for (let i = 0; i < 3; ++i) {
    assert.match(await page.locator(`[data-tokens="${i}"] .token`).last().getAttribute("class"), /special/);
  }
  // As queries: the instruction prompt's tokens come first.
  await page.check('input[name="as_query"]');
  await page.click('[data-action="compare"]');
  await page.waitForSelector(".token.prompt");
  const promptPieces = (await page.locator('[data-tokens="0"] .token.prompt .piece').allTextContents()).join("");
  assert.match(promptPieces, /^Instruct:␣Given.*Query:$/);
  const textPieces = await page.locator('[data-tokens="0"] .token:not(.prompt):not(.special) .piece').allTextContents();
  assert.equal(textPieces.join(""), "How␣long␣do␣refunds␣take?");
  assert.deepEqual(page.errors, []);
});

test("server page: model facts and live charts", async () => {
  const page = await openPage(browser, `${server.url}/#/server`);
  await page.waitForSelector('[data-fact="server.model"]');
  const info = await (await fetch(`${server.url}/info`)).json();
  assert.equal(await page.textContent('[data-fact="server.model"]'), info.model_id);
  assert.match(await page.textContent('[data-fact="server.simd"]'), /^cpu/);
  assert.match(await page.textContent('[data-fact="server.memoryBound"]'), /\d+(\.\d)? (MB|GB)/);
  // Traffic while the page watches: the charts show non-zero requests/s and tokens/s once two polls saw it.
  for (let i = 0; i < 6; ++i) {
    await fetch(`${server.url}/v1/embeddings`, { method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ input: [`text ${i}`, "another"] }) });
  }
  await page.waitForFunction(() => {
    const v = document.querySelector('[data-chart="tokens"] .value')?.textContent;
    return v && v !== "—" && Number(v) > 0;
  }, null, { timeout: 15_000 });
  for (const id of ["requests", "tokens", "queue", "latency", "prefix-cache", "ingestion"]) {
    assert.equal(await page.locator(`[data-chart="${id}"] svg`).count(), 1, id);
  }
  assert.ok(await page.locator('[data-chart="tokens"] path.line').count() >= 1);
  assert.deepEqual(page.errors, []);
});
