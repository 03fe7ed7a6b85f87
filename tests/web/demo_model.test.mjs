// The synthetic demo model (its id says SYNTHETIC): the UI says plainly that its vectors carry no meaning and
// starts search in keyword mode; a real model's UI says nothing of the kind and starts in hybrid mode. And the key
// prompt and that banner in Chinese.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { launchBrowser, openPage, startKbServer } from "./web_helpers.mjs";

const DEMO_ID = "qwen3-embedding-0.6b-shape-SYNTHETIC-Q8_0";
let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

test("demo model: a banner, and search defaults to keyword mode; another model: neither", async () => {
  const demo = await startKbServer(["--served-model-name", DEMO_ID]);
  const plain = await startKbServer();
  try {
    const page = await openPage(browser, `${demo.url}/#/search`);
    await page.waitForSelector("#banner:not([hidden])");
    assert.match(await page.textContent("#banner"), /synthetic demo model: its weights are random, so its vectors carry no meaning/);
    await page.waitForSelector('select[name="mode"]');
    assert.equal(await page.inputValue('select[name="mode"]'), "keyword");
    assert.deepEqual(page.errors, []);

    const other = await openPage(browser, `${plain.url}/#/search`);
    await other.waitForSelector('select[name="mode"]');
    assert.equal(await other.inputValue('select[name="mode"]'), "hybrid");
    assert.equal(await other.isHidden("#banner"), true);
    assert.deepEqual(other.errors, []);
  } finally {
    await demo.stop();
    await plain.stop();
  }
});

test("Chinese: the key prompt and the demo-model banner", async () => {
  const server = await startKbServer(["--served-model-name", DEMO_ID, "--api-key", "zh-admin-key-0123456789"]);
  try {
    const page = await openPage(browser, server.url, { locale: "zh-CN" });
    await page.waitForSelector("#key-dialog[open]");
    assert.equal(await page.textContent("#key-dialog h2"), "API 密钥");
    assert.match(await page.textContent("#key-dialog p"), /此服务器需要 API 密钥/);
    await page.fill("#key-input", "wrong");
    await page.click('#key-form button[type="submit"]');
    await page.waitForSelector("#key-error:not([hidden])");
    assert.equal(await page.textContent("#key-error"), "此密钥在本服务器上无效。");
    await page.fill("#key-input", "zh-admin-key-0123456789");
    await page.click('#key-form button[type="submit"]');
    await page.waitForSelector("#banner:not([hidden])");
    assert.match(await page.textContent("#banner"), /合成演示模型/);
    assert.equal(await page.textContent("#key-button"), "清除 API 密钥");
    assert.deepEqual(page.errors, []);
  } finally {
    await server.stop();
  }
});
