// Prompt prefix reuse through HTTP: queries whose instruction K/V come from the cache embed exactly like the same
// text computed in full (a server with --prefix-cache-mb 0), the metrics count hits, misses and reused tokens, and
// the cache can be turned off by flag or environment.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { cosine, get, post, startServer } from "./server_helpers.mjs";

const TASK = "Given a web search query, retrieve relevant passages that answer the query";
const formatted = (task, q) => `Instruct: ${task}\nQuery:${q}`;
// "x", "The" and "a" merge with the colon of "Query:" into one token (":x"), so the prompt's last token is not the
// input's; "what", "Explain", " spaced" and "42" leave ":" on its own.
const QUERIES = ["what is the capital of China?", "Explain gravity", "x", "The sky", " spaced out query", "42 answers",
                 "a"];

let cached, full;
before(async () => {
  [cached, full] = await Promise.all([startServer([]), startServer(["--prefix-cache-mb", "0"])]);
});
after(async () => {
  assert.equal((await cached.stop()).code, 0);
  assert.equal((await full.stop()).code, 0);
});

async function metrics(server) {
  const r = await get(`${server.url}/metrics`);
  assert.equal(r.status, 200);
  const value = (name) => {
    const m = r.text.match(new RegExp(`^${name} (\\S+)$`, "m"));
    assert.ok(m, `${name} missing from /metrics`);
    return Number(m[1]);
  };
  return {
    hits: value("qembed_prefix_cache_hits_total"),
    misses: value("qembed_prefix_cache_misses_total"),
    tokens: value("qembed_prefix_cache_tokens_reused_total"),
    inputs: value("qembed_prefix_cache_inputs_reused_total"),
    entries: value("qembed_prefix_cache_entries"),
    bytes: value("qembed_prefix_cache_bytes"),
  };
}

async function embedOne(server, body) {
  const r = await post(`${server.url}/v1/embeddings`, body);
  assert.equal(r.status, 200, r.text);
  return r.body.data.map((d) => d.embedding);
}

test("the first query computes the prompt (miss), the second reuses it (hit)", async () => {
  const task = "Find the paragraph that answers this unusual test question";
  const m0 = await metrics(cached);
  await embedOne(cached, { input: "what is first?", instruction: task });
  const m1 = await metrics(cached);
  assert.equal(m1.misses - m0.misses, 1);
  assert.equal(m1.hits - m0.hits, 0);
  assert.equal(m1.entries - m0.entries, 1);
  assert.ok(m1.bytes > m0.bytes);
  await embedOne(cached, { input: "The second one?", instruction: task });
  const m2 = await metrics(cached);
  assert.equal(m2.hits - m1.hits, 1);
  assert.equal(m2.misses - m1.misses, 0);
  assert.equal(m2.inputs - m1.inputs, 1);
  const promptTokens = (await post(`${cached.url}/tokenize`, { inputs: formatted(task, ""), add_special_tokens: false }))
    .body[0].length;
  // All of the prompt's positions, or all but the one its last token merges into with the text.
  assert.ok(m2.tokens - m1.tokens >= promptTokens - 1, `${m2.tokens - m1.tokens} of ${promptTokens}`);
  assert.ok(m2.tokens - m1.tokens <= promptTokens);
});

test("prompt_name query equals the formatted text computed in full", async () => {
  for (const q of QUERIES) {
    const [viaPrompt] = await embedOne(cached, { input: q, prompt_name: "query" });
    const [inFull] = await embedOne(full, { input: formatted(TASK, q), prompt_name: "document" });
    const [plainHere] = await embedOne(cached, { input: formatted(TASK, q), prompt_name: "document" });
    assert.ok(cosine(viaPrompt, inFull) >= 0.99999, `query ${JSON.stringify(q)}: ${cosine(viaPrompt, inFull)}`);
    assert.ok(cosine(plainHere, inFull) >= 0.99999, `document ${JSON.stringify(q)}`);
  }
  const m = await metrics(cached);
  assert.ok(m.hits >= QUERIES.length - 1, `hits ${m.hits}`);
});

test("a batch of queries mixed with requests without a prompt: every vector as computed in full", async () => {
  const [batch, docs] = await Promise.all([
    embedOne(cached, { input: QUERIES, prompt_name: "query" }),
    embedOne(cached, { input: ["a document", "another, longer document about nothing"] }),
  ]);
  const fullBatch = await embedOne(full, { input: QUERIES.map((q) => formatted(TASK, q)) });
  const fullDocs = await embedOne(full, { input: ["a document", "another, longer document about nothing"] });
  QUERIES.forEach((q, i) => assert.ok(cosine(batch[i], fullBatch[i]) >= 0.99999, `query ${i}`));
  docs.forEach((d, i) => assert.ok(cosine(d, fullDocs[i]) >= 0.99999, `document ${i}`));
});

test("TEI /embed with prompt_name query reuses the prompt too", async () => {
  const m0 = await metrics(cached);
  const r = await post(`${cached.url}/embed`, { inputs: ["what is TEI?"], prompt_name: "query" });
  assert.equal(r.status, 200, r.text);
  const [inFull] = await embedOne(full, { input: formatted(TASK, "what is TEI?") });
  assert.ok(cosine(r.body[0], inFull) >= 0.99999);
  assert.equal((await metrics(cached)).hits - m0.hits, 1);
});

test("--prefix-cache-mb 0: nothing cached, nothing reused", async () => {
  await embedOne(full, { input: "what is off?", prompt_name: "query" });
  await embedOne(full, { input: "what is still off?", prompt_name: "query" });
  const m = await metrics(full);
  assert.deepEqual([m.hits, m.misses, m.tokens, m.entries, m.bytes], [0, 0, 0, 0, 0]);
  assert.match(full.stderr(), /prefix cache 0 /);
});

test("QEMBED_PREFIX_CACHE_MB sets the budget; a bad value is a clear start-up error", async () => {
  const off = await startServer([], { env: { QEMBED_PREFIX_CACHE_MB: "0" } });
  try {
    await embedOne(off, { input: "what is env?", prompt_name: "query" });
    await embedOne(off, { input: "what is env again?", prompt_name: "query" });
    const m = await metrics(off);
    assert.equal(m.entries, 0);
    assert.equal(m.tokens, 0);
  } finally {
    assert.equal((await off.stop()).code, 0);
  }
  await assert.rejects(startServer(["--prefix-cache-mb", "-1"]), /--prefix-cache-mb/);
});
