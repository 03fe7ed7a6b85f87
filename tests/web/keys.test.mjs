// API keys in the UI: the page loads without a key, asks for one once (kept in sessionStorage, never in a URL),
// refuses an invalid one, and shows what the key's role allows: search -> Search only; embed -> also Knowledge and
// the Playground; admin -> everything. The API itself still refuses calls without a key.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { launchBrowser, openPage, startKbServer } from "./web_helpers.mjs";

const ADMIN = "admin-key-0123456789";
const EMBED = "embed-key-0123456789";
const SEARCH = "search-key-0123456789";
let server;
let browser;

before(async () => {
  server = await startKbServer(["--api-key", ADMIN, "--api-key", `${EMBED}:embed`, "--api-key", `${SEARCH}:search`]);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function navPages(page) {
  return page.$$eval("#nav a", (links) => links.map((a) => a.dataset.page));
}

async function enterKey(page, key) {
  await page.waitForSelector("#key-dialog[open]");
  await page.fill("#key-input", key);
  await page.click('#key-form button[type="submit"]');
}

test("the prompt, an invalid key, and what each role sees", async () => {
  // Without a key the assets load but the API does not answer.
  assert.equal((await fetch(`${server.url}/`)).status, 200);
  assert.equal((await fetch(`${server.url}/v1/kb/collections`)).status, 401);
  const whoami = async (key) => (await fetch(`${server.url}/v1/whoami`, key ? { headers: { authorization: `Bearer ${key}` } } : {})).json();
  assert.deepEqual(await whoami(), { keys_required: true, authenticated: false, roles: [], knowledge_base: true, ready: true });
  assert.deepEqual((await whoami("nope")).roles, []);
  assert.deepEqual((await whoami(SEARCH)).roles, ["search"]);
  assert.deepEqual((await whoami(EMBED)).roles, ["embed"]);
  assert.deepEqual((await whoami(ADMIN)).roles, ["admin"]);

  const page = await openPage(browser, server.url);
  await enterKey(page, "wrong-key");
  await page.waitForSelector("#key-error:not([hidden])");
  assert.match(await page.textContent("#key-error"), /not valid/);
  assert.deepEqual(await navPages(page), []);

  await page.fill("#key-input", SEARCH);
  await page.click('#key-form button[type="submit"]');
  await page.waitForFunction(() => !document.querySelector("#key-dialog").open);
  await page.waitForSelector('#nav a[data-page="search"]');
  assert.deepEqual(await navPages(page), ["search"]);
  assert.equal(await page.evaluate(() => sessionStorage.getItem("qembed.apiKey")), SEARCH);
  assert.doesNotMatch(page.url(), /key/);

  // Kept for the session: a reload asks for nothing.
  await page.reload();
  await page.waitForSelector('#nav a[data-page="search"]');
  assert.equal(await page.evaluate(() => document.querySelector("#key-dialog").open), false);

  // Forgetting it brings the prompt back.
  await page.click("#key-button");
  await enterKey(page, EMBED);
  await page.waitForSelector('#nav a[data-page="playground"]');
  assert.deepEqual(await navPages(page), ["knowledge", "search", "playground"]);

  const admin = await openPage(browser, server.url);
  await enterKey(admin, ADMIN);
  await admin.waitForSelector('#nav a[data-page="server"]');
  assert.deepEqual(await navPages(admin), ["knowledge", "search", "playground", "server"]);
  await admin.click('#nav a[data-page="server"]');
  await admin.waitForSelector('[data-fact="server.model"]');

  assert.deepEqual(page.errors, []);
  assert.deepEqual(admin.errors, []);
});
