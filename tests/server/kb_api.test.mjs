// The knowledge base's REST API under `qembed serve --kb PATH`, as a client meets it: collections, multipart uploads
// of mixed and hostile files (per-file statuses, the good ones indexed), JSON text uploads, job progress, search with
// citations, duplicates and replacements, deletion, pagination, roles, metrics, /health while the vector indexes
// open, and pending documents resumed after a kill -9.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { model } from "../cli/helpers.mjs";
import { assertApiError, get, rawConnection, sleep, startServer } from "./server_helpers.mjs";

const KEYS = { admin: "kb-admin-key", embed: "kb-embed-key", search: "kb-search-key" };
const MAX_UPLOAD_FILES = 8;
let server, url, dir, dbPath;

function serverArgs() {
  return ["--kb", dbPath, "--max-upload-mb", "1", "--max-upload-files", String(MAX_UPLOAD_FILES), "--body-timeout", "2",
    "--api-key", KEYS.admin, "--api-key", `${KEYS.embed}:embed`, "--api-key", `${KEYS.search}:search`];
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "qembed-kb-api-"));
  dbPath = path.join(dir, "kb.db");
  server = await startServer(serverArgs());
  url = server.url;
});
after(async () => {
  // A clean stop (status 0), ingestion in flight or not.
  if (server) assert.equal((await server.stop()).code, 0, server.stderr().slice(-2000));
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A request with a role's key; `body` is JSON unless it is a FormData. Returns {status, headers, body, text}. */
async function call(method, route, { body, key = KEYS.admin, headers = {} } = {}) {
  const init = { method, headers: { ...headers } };
  if (key) init.headers.authorization = `Bearer ${key}`;
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    init.headers["content-type"] ??= "application/json";
  }
  const res = await fetch(`${url}${route}`, init);
  const text = await res.text();
  let parsed = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: res.status, headers: res.headers, body: parsed, text };
}

function form(files, metadata) {
  const f = new FormData();
  for (const [name, bytes] of files) f.append("file", new Blob([bytes]), name);
  if (metadata) f.append("metadata", JSON.stringify(metadata));
  return f;
}

async function waitForJob(id, key = KEYS.admin) {
  let job;
  for (let i = 0; i < 1200 && job?.state !== "done"; ++i) {
    const r = await call("GET", `/v1/kb/jobs/${id}`, { key });
    assert.equal(r.status, 200, r.text);
    job = r.body;
    if (job.state !== "done") await sleep(50);
  }
  assert.equal(job.state, "done", JSON.stringify(job));
  return job;
}

async function search(collection, query, extra = {}, key = KEYS.admin) {
  const r = await call("POST", `/v1/kb/collections/${collection}/search`, { body: { query, ...extra }, key });
  assert.equal(r.status, 200, r.text);
  return r.body;
}

const GUIDE = "# Guide\n\nQembed serves embeddings.\n\n## Zebrafish\n\nThe zebrafish section talks about stripes.\n";
const PAGE = "<html><head><title>Cats</title></head><body><h1>Cats</h1><p>Cats purr when content.</p></body></html>";
const NOTES = "Plain notes about marmalade and toast.\n";

test("collections: create (201), conflict (409), bad settings (400), list and read with counts", async () => {
  const r = await call("POST", "/v1/kb/collections", { body: { name: "docs", chunk_tokens: 128, chunk_overlap: 16 } });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.name, "docs");
  assert.equal(r.body.chunk_tokens, 128);
  assert.equal(r.body.chunk_overlap, 16);
  assert.equal(r.body.vector_type, "f32");
  assert.equal(r.body.model.name, "tiny-F32");
  assert.equal(r.body.model_matches, true);
  assert.deepEqual(r.body.documents, { pending: 0, indexed: 0, failed: 0 });
  assertApiError(assert, await call("POST", "/v1/kb/collections", { body: { name: "docs" } }), 409, /exists already/);
  assertApiError(assert, await call("POST", "/v1/kb/collections", { body: {} }), 400, /name is required/);
  assertApiError(assert, await call("POST", "/v1/kb/collections", { body: { name: "x", vector_type: "f64" } }), 400,
    /vector_type/);
  assertApiError(assert, await call("POST", "/v1/kb/collections", { body: { name: "x", chunk_tokens: 10, chunk_overlap: 10 } }),
    400, /chunk_overlap/);
  assertApiError(assert, await call("POST", "/v1/kb/collections", { body: { name: "x", colour: "red" } }), 400,
    /unknown field "colour"/);
  assertApiError(assert, await call("POST", "/v1/kb/collections", { body: "{not json" }), 400, /invalid JSON/);
  const list = await call("GET", "/v1/kb/collections");
  assert.equal(list.status, 200, list.text);
  assert.deepEqual(list.body.data.map((c) => c.name), ["docs"]);
  const one = await call("GET", "/v1/kb/collections/docs");
  assert.equal(one.status, 200);
  assert.equal(one.body.dimensions, 256);
  assertApiError(assert, await call("GET", "/v1/kb/collections/nope"), 404, /no collection named 'nope'/);
});

let firstJob;
test("multipart upload of mixed and hostile files: a status per file at once, the good ones indexed", async () => {
  const binary = Buffer.alloc(3000);
  for (let i = 0; i < binary.length; ++i) binary[i] = (i * 37) & 0xff;  // NULs and control bytes: not text
  const tooLarge = Buffer.alloc(1024 * 1024 + 10, "a");  // over --max-upload-mb 1
  const files = [
    ["guide.md", GUIDE],
    ["cats.html", PAGE],
    ["../../etc/notes.txt", NOTES],
    ["broken.pdf", "%PDF-1.4\n1 0 obj garbage without xref\n"],
    ["blob.txt", binary],
    ["../", "a file name with no name part"],
    ["huge.txt", tooLarge],
  ];
  const r = await call("POST", "/v1/kb/collections/docs/documents", { body: form(files, { team: "docs" }) });
  assert.equal(r.status, 202, r.text);
  const docs = r.body.documents;
  assert.deepEqual(docs.map((d) => d.file), files.map(([name]) => name));
  assert.deepEqual(docs.map((d) => d.name), ["guide.md", "cats.html", "notes.txt", "broken.pdf", "blob.txt", "", "huge.txt"]);
  // Refused at upload: the nameless file (400) and the one over the size limit (413); the others are still ingested.
  assert.equal(docs[5].status, "failed");
  assert.equal(docs[5].error_status, 400);
  assert.match(docs[5].error, /has no name part/);
  assert.equal(docs[6].status, "failed");
  assert.equal(docs[6].error_status, 413);
  assert.match(docs[6].error, /huge\.txt is 1048586 bytes, above the upload limit of 1 MiB \(--max-upload-mb\)/);
  for (const d of docs.slice(0, 5)) {
    assert.ok(["pending", "indexed", "failed"].includes(d.status), JSON.stringify(d));
    assert.ok(d.document_id > 0, `registered at once, with its id: ${JSON.stringify(d)}`);
  }
  assert.equal(r.body.job.total, 5);  // the refused files never reach ingestion
  firstJob = r.body.job.id;

  const job = await waitForJob(firstJob);
  assert.equal(job.collection, "docs");
  assert.equal(job.finished, 5);
  assert.equal(job.indexed, 3);
  assert.equal(job.failed, 2);
  assert.equal(job.progress, 1);
  assert.ok(job.tokens > 0);
  const byName = Object.fromEntries(job.documents.map((d) => [d.file, d]));
  for (const name of ["guide.md", "cats.html", "notes.txt"]) {
    assert.equal(byName[name].status, "indexed", JSON.stringify(byName[name]));
    assert.ok(byName[name].chunks >= 1);
  }
  assert.match(byName["broken.pdf"].error, /broken\.pdf: not a readable PDF/);
  assert.match(byName["blob.txt"].error, /blob\.txt: not text/);

  const c = await call("GET", "/v1/kb/collections/docs");
  assert.deepEqual(c.body.documents, { pending: 0, indexed: 3, failed: 2 });
  // Nothing was written under a name the client chose, and no temporary file is left beside the database.
  assert.deepEqual(fs.readdirSync(dir).filter((f) => !f.startsWith("kb.db")), []);
  assert.ok(!fs.existsSync(path.join(dir, "..", "etc")));
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes("upload")), []);
});

test("search: hybrid, vector and keyword hits carry citations", async () => {
  const r = await search("docs", "zebrafish stripes", { top_k: 3 });
  assert.equal(r.mode, "hybrid");
  assert.ok(r.hits.length >= 1, JSON.stringify(r));
  const top = r.hits[0];
  assert.equal(top.rank, 1);
  assert.equal(top.document, "guide.md");
  assert.equal(top.format, "markdown");
  assert.match(top.text, /zebrafish section/);
  assert.match(top.section, /Zebrafish/);
  assert.ok(top.end > top.start);
  assert.ok(top.highlights.length >= 1);
  const [hs, he] = top.highlights[0];
  assert.match([...top.text].slice(hs, he).join("").toLowerCase(), /zebrafish|stripes/);
  assert.deepEqual(top.metadata, { team: "docs" });
  assert.equal(typeof top.keyword_score, "number", JSON.stringify(r.hits));
  assert.ok(r.usage.query_tokens > 0);
  assert.equal(typeof r.timings.total_ms, "number");

  const kw = await search("docs", "marmalade", { mode: "keyword" });
  assert.equal(kw.hits[0].document, "notes.txt");
  assert.equal(kw.usage.query_tokens, 0);
  const vec = await search("docs", "cats purr", { mode: "vector", top_k: 10 });
  // Few chunks in all: a vector search ranks every one of them.
  assert.deepEqual(new Set(vec.hits.map((h) => h.document)), new Set(["guide.md", "cats.html", "notes.txt"]));
  for (const [i, h] of vec.hits.entries()) {
    assert.ok(h.score >= -1 && h.score <= 1.0001, JSON.stringify(h));  // a cosine
    if (i > 0) assert.ok(vec.hits[i - 1].score >= h.score, "best first");
  }
  const filtered = await search("docs", "content", { filter: { formats: ["html"] } });
  assert.ok(filtered.hits.every((h) => h.format === "html"), JSON.stringify(filtered.hits));
  assertApiError(assert, await call("POST", "/v1/kb/collections/docs/search", { body: { query: "" } }), 400, /query/);
  assertApiError(assert, await call("POST", "/v1/kb/collections/docs/search", { body: { query: "x", mode: "fuzzy" } }),
    400, /mode/);
  assertApiError(assert, await call("POST", "/v1/kb/collections/docs/search", { body: { query: "x", top_k: 0 } }),
    400, /top_k/);
  assertApiError(assert, await call("POST", "/v1/kb/collections/docs/search", { body: { query: "x", filter: { x: 1 } } }),
    400, /filter/);
  assertApiError(assert, await call("POST", "/v1/kb/collections/nope/search", { body: { query: "x" } }), 404);
});

test("rerank without a reranker: 400 naming the flag; a collection's rerank default is stored and overridable", async () => {
  const created = await call("POST", "/v1/kb/collections", { body: { name: "ranked", rerank: true } });
  assert.equal(created.status, 201, created.text);
  assert.equal(created.body.rerank, true);
  assert.equal((await call("GET", "/v1/kb/collections/docs")).body.rerank, false);
  const message = /reranking needs a reranker model: start with --reranker-model/;
  const searchRoute = (c) => `/v1/kb/collections/${c}/search`;
  assertApiError(assert, await call("POST", searchRoute("docs"), { body: { query: "x", rerank: true } }), 400, message);
  assertApiError(assert, await call("POST", searchRoute("ranked"), { body: { query: "x" } }), 400, message);
  const off = await search("ranked", "x", { rerank: false });
  assert.equal(off.reranked, false);
  const plain = await search("docs", "zebrafish", { rerank: false });
  assert.equal(plain.timings.rerank_ms, 0);
  for (const h of plain.hits) assert.equal(h.rerank_score, undefined);
  assertApiError(assert, await call("POST", searchRoute("docs"), { body: { query: "x", rerank: "yes" } }), 400, /rerank/);
  assertApiError(assert, await call("POST", searchRoute("docs"), { body: { query: "x", rerank_candidates: 0 } }), 400,
    /rerank_candidates/);
  assertApiError(assert, await call("POST", "/v1/kb/collections", { body: { name: "y", rerank: 1 } }), 400, /rerank/);
  assert.equal((await call("DELETE", "/v1/kb/collections/ranked")).status, 200);
});

test("JSON text upload, ?wait=true: 200 with final statuses; metadata filters search", async () => {
  const r = await call("POST", "/v1/kb/collections/docs/documents?wait=true", {
    body: { documents: [
      { name: "faq", text: "How do I reset the quokka password? Ask the admin.", metadata: { lang: "en" } },
      { name: "faq-de", text: "Wie setze ich das Quokka-Passwort zurück?", metadata: { lang: "de" } },
      { name: "empty", text: "" },
      { name: "faq-md", text: "# Quokka care\n\nFeed the quokka leaves.", format: "markdown" },
      { name: "odd", text: "x", format: "latex" },
    ] },
  });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.documents.map((d) => d.status), ["indexed", "indexed", "failed", "indexed", "failed"]);
  assert.match(r.body.documents[2].error, /empty/);
  assert.match(r.body.documents[4].error, /unknown format "latex"/);
  const md = await search("docs", "quokka leaves", { mode: "keyword" });
  assert.equal(md.hits[0]?.document, "faq-md");
  assert.equal(md.hits[0].format, "markdown");
  assert.equal(md.hits[0].section, "Quokka care");
  assert.equal(r.body.job.state, "done");
  const en = await search("docs", "quokka password", { filter: { metadata: { lang: "en" } } });
  assert.ok(en.hits.length >= 1);
  assert.ok(en.hits.every((h) => h.document === "faq"), JSON.stringify(en.hits.map((h) => h.document)));
  assertApiError(assert, await call("POST", "/v1/kb/collections/docs/documents", { body: { documents: "x" } }), 400,
    /documents is required/);
  assertApiError(assert, await call("POST", "/v1/kb/collections/docs/documents", { body: { documents: [{ name: "a" }] } }),
    400, /documents\[0\]\.text is required/);
});

test("the same file again is a duplicate; new content under the same name replaces the old", async () => {
  const dup = await call("POST", "/v1/kb/collections/docs/documents?wait=true", { body: form([["guide.md", GUIDE]]) });
  assert.equal(dup.status, 200, dup.text);
  assert.equal(dup.body.documents[0].status, "duplicate");
  const newGuide = "# Guide\n\n## Axolotl\n\nThe axolotl regrows its limbs.\n";
  const rep = await call("POST", "/v1/kb/collections/docs/documents?wait=true", { body: form([["guide.md", newGuide]]) });
  assert.equal(rep.status, 200, rep.text);
  assert.equal(rep.body.documents[0].status, "replaced");
  const now = await search("docs", "axolotl", { mode: "keyword" });
  assert.equal(now.hits[0]?.document, "guide.md");
  const old = await search("docs", "zebrafish", { mode: "keyword" });
  assert.deepEqual(old.hits, [], "the old version's chunks left the index");
});

test("delete a document: gone from search and from the collection", async () => {
  const list = await call("GET", "/v1/kb/collections/docs/documents?status=indexed");
  const notes = list.body.data.find((d) => d.name === "notes.txt");
  assert.ok(notes, list.text);
  assert.ok((await search("docs", "marmalade", { mode: "keyword" })).hits.length >= 1);
  const one = await call("GET", `/v1/kb/collections/docs/documents/${notes.document_id}`);
  assert.equal(one.status, 200);
  assert.equal(one.body.name, "notes.txt");
  const put = await call("PUT", `/v1/kb/collections/docs/documents/${notes.document_id}/metadata`, { body: { owner: "ann" } });
  assert.equal(put.status, 200, put.text);
  assert.deepEqual(put.body.metadata, { owner: "ann" });
  assertApiError(assert, await call("PUT", `/v1/kb/collections/docs/documents/${notes.document_id}/metadata`,
    { body: "[1]" }), 400, /must be a JSON object/);
  const del = await call("DELETE", `/v1/kb/collections/docs/documents/${notes.document_id}`);
  assert.equal(del.status, 200, del.text);
  assert.equal(del.body.deleted, true);
  assert.deepEqual((await search("docs", "marmalade", { mode: "keyword" })).hits, []);
  assert.ok((await search("docs", "marmalade toast", { mode: "vector" })).hits.every((h) => h.document !== "notes.txt"));
  assertApiError(assert, await call("GET", `/v1/kb/collections/docs/documents/${notes.document_id}`), 404);
  assertApiError(assert, await call("DELETE", `/v1/kb/collections/docs/documents/${notes.document_id}`), 404);
  assertApiError(assert, await call("GET", "/v1/kb/collections/docs/documents/abc"), 404);
});

test("documents list: pages of ?limit with next_after cover everything once; ?status filters", async () => {
  await call("POST", "/v1/kb/collections", { body: { name: "paged" } });
  const documents = Array.from({ length: 7 }, (_, i) => ({ name: `doc-${i}.txt`, text: `page test number ${i}` }));
  const up = await call("POST", "/v1/kb/collections/paged/documents?wait=true", { body: { documents } });
  assert.equal(up.status, 200, up.text);
  const seen = [];
  let after = 0;
  for (let page = 0; page < 10; ++page) {
    const r = await call("GET", `/v1/kb/collections/paged/documents?limit=3&after=${after}`);
    assert.equal(r.status, 200, r.text);
    assert.ok(r.body.data.length <= 3);
    seen.push(...r.body.data.map((d) => d.name));
    if (!r.body.has_more) {
      assert.equal(r.body.next_after, null);
      break;
    }
    after = r.body.next_after;
  }
  assert.deepEqual(seen, documents.map((d) => d.name));
  const failed = await call("GET", "/v1/kb/collections/paged/documents?status=failed");
  assert.deepEqual(failed.body.data, []);
  assertApiError(assert, await call("GET", "/v1/kb/collections/paged/documents?status=done"), 400, /status/);
  assertApiError(assert, await call("GET", "/v1/kb/collections/paged/documents?limit=0"), 400, /limit/);
  const jobs = await call("GET", "/v1/kb/jobs?limit=2");
  assert.equal(jobs.status, 200);
  assert.equal(jobs.body.data.length, 2);
  assert.ok(jobs.body.data[0].id > jobs.body.data[1].id, "most recent first");
  assertApiError(assert, await call("GET", "/v1/kb/jobs/999999"), 404);
});

test("roles: a search key searches and reads, but gets 403 on every change; no key is 401", async () => {
  const S = { key: KEYS.search };
  assert.equal((await call("GET", "/v1/kb/collections", S)).status, 200);
  assert.equal((await call("GET", "/v1/kb/collections/docs", S)).status, 200);
  assert.equal((await call("GET", "/v1/kb/collections/docs/documents", S)).status, 200);
  assert.equal((await call("GET", `/v1/kb/jobs/${firstJob}`, S)).status, 200);
  assert.equal((await call("GET", "/v1/kb/jobs", S)).status, 200);
  assert.ok((await search("docs", "axolotl", {}, KEYS.search)).hits.length >= 1);
  const denied = [
    ["POST", "/v1/kb/collections", { name: "mine" }],
    ["DELETE", "/v1/kb/collections/docs"],
    ["POST", "/v1/kb/collections/docs/documents", form([["x.txt", "x"]])],
    ["POST", "/v1/kb/collections/docs/documents", { documents: [{ name: "x", text: "x" }] }],
    ["DELETE", "/v1/kb/collections/docs/documents/1"],
    ["PUT", "/v1/kb/collections/docs/documents/1/metadata", { a: 1 }],
  ];
  for (const [method, route, body] of denied) {
    const r = await call(method, route, { body, key: KEYS.search });
    assertApiError(assert, r, 403, /role search/);
    assertApiError(assert, await call(method, route, { body, key: null }), 401);
  }
  // The embed role may change the knowledge base.
  const e = await call("POST", "/v1/kb/collections/docs/documents?wait=true",
    { body: form([["embed.txt", "written with an embed key"]]), key: KEYS.embed });
  assert.equal(e.status, 200, e.text);
  assert.equal(e.body.documents[0].status, "indexed");
});

test("hostile uploads: malformed multipart, stray fields, too many files, a body past the cap, unknown collection", async () => {
  const raw = (body, type) => call("POST", "/v1/kb/collections/docs/documents", { body, headers: { "content-type": type } });
  assertApiError(assert, await raw("--b\r\nno header end", "multipart/form-data; boundary=b"), 400,
    /malformed multipart\/form-data body/);
  assertApiError(assert, await raw("whatever", "multipart/form-data"), 400, /boundary/);
  const stray = new FormData();
  stray.append("colour", "red");
  assertApiError(assert, await call("POST", "/v1/kb/collections/docs/documents", { body: stray }), 400,
    /unknown form field "colour"/);
  const many = Array.from({ length: MAX_UPLOAD_FILES + 1 }, (_, i) => [`f${i}.txt`, `file ${i}`]);
  assertApiError(assert, await call("POST", "/v1/kb/collections/docs/documents", { body: form(many) }), 413,
    /more than 8 files in one upload/);
  // --max-upload-mb 1 x --max-upload-files 8: a 9 MiB body is refused as a whole while it streams.
  const big = form([["a.txt", Buffer.alloc(9 * 1024 * 1024, "z")]]);
  assertApiError(assert, await call("POST", "/v1/kb/collections/docs/documents", { body: big }), 413,
    /the upload is larger than \d+ bytes/);
  // An unknown collection is refused on the header: the body is never read.
  const c = rawConnection(server.port);
  await c.connected;
  c.sock.write(`POST /v1/kb/collections/nope/documents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEYS.admin}\r\n` +
    "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000000\r\n\r\n");
  await c.closed;
  assert.match(c.data, /^HTTP\/1\.1 404/);
  assert.match(c.data, /no collection named 'nope'/);
  assertApiError(assert, await call("POST", "/v1/kb/collections/docs/documents", { body: { documents: [] } }), 400,
    /no files/);
  // Uploads that stall hold their place among the uploads received at once (4) only until --body-timeout: 408.
  const stalled = [];
  for (let i = 0; i < 4; ++i) {
    const s = rawConnection(server.port);
    await s.connected;
    s.sock.write(`POST /v1/kb/collections/docs/documents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEYS.admin}\r\n` +
      "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 5000\r\n\r\n--b\r\n");
    stalled.push(s);
  }
  await sleep(200);
  assertApiError(assert, await call("POST", "/v1/kb/collections/docs/documents", { body: form([["x.txt", "x"]]) }), 429,
    /receiving its limit of 4 uploads at once/);
  for (const s of stalled) {
    await s.closed;
    assert.match(s.data, /^HTTP\/1\.1 408/);
  }
  const after408 = await call("POST", "/v1/kb/collections/docs/documents?wait=true", { body: form([["late.txt", "late"]]) });
  assert.equal(after408.status, 200, after408.text);
  assert.equal((await get(`${url}/health`)).status, 200);
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes("upload")), []);
});

test("metrics: documents by status, chunks, jobs, ingestion tokens and time, searches by mode", async () => {
  let text = "";
  for (let i = 0; i < 100 && !/qembed_kb_documents\{collection="paged",status="indexed"\} 7/.test(text); ++i) {
    text = (await call("GET", "/metrics")).text;
    await sleep(100);
  }
  assert.match(text, /qembed_kb_documents\{collection="paged",status="indexed"\} 7/);
  assert.match(text, /qembed_kb_documents\{collection="docs",status="failed"\} [1-9]/);
  assert.match(text, /qembed_kb_chunks\{collection="docs"\} [1-9]/);
  assert.match(text, /qembed_kb_jobs\{state="queued"\} 0/);
  assert.match(text, /qembed_kb_jobs\{state="running"\} 0/);
  assert.match(text, /^qembed_kb_ingested_tokens_total [1-9]/m);
  assert.match(text, /^qembed_kb_ingestion_busy_seconds_total 0?\.?[0-9]*[1-9]/m);
  assert.match(text, /qembed_kb_searches_total\{mode="hybrid"\} [1-9]/);
  assert.match(text, /qembed_kb_searches_total\{mode="keyword"\} [1-9]/);
  assert.match(text, /^qembed_kb_search_duration_seconds_count [1-9]/m);
  // /openapi.json lists exactly the knowledge base's routes, each with its methods (ops.test.mjs checks the others).
  const doc = (await get(`${url}/openapi.json`)).body;
  const kbPaths = Object.fromEntries(Object.entries(doc.paths).filter(([p]) => p.startsWith("/v1/kb/"))
    .map(([p, item]) => [p, Object.keys(item).filter((k) => k !== "parameters").sort()]));
  assert.deepEqual(kbPaths, {
    "/v1/kb/collections": ["get", "post"],
    "/v1/kb/collections/{name}": ["delete", "get"],
    "/v1/kb/collections/{name}/documents": ["get", "post"],
    "/v1/kb/collections/{name}/documents/{id}": ["delete", "get"],
    "/v1/kb/collections/{name}/documents/{id}/metadata": ["put"],
    "/v1/kb/collections/{name}/documents/{id}/text": ["get"],
    "/v1/kb/collections/{name}/labels": ["post"],
    "/v1/kb/collections/{name}/search": ["post"],
    "/v1/kb/jobs": ["get"],
    "/v1/kb/jobs/{id}": ["get"],
  });
  for (const ref of JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g)) {
    assert.ok(doc.components.schemas[ref[1]], `schema ${ref[1]} is defined`);
  }
});

test("the start-up memory bound counts the vector index per stored vector", async () => {
  assert.match(server.stderr(), /memory bound \d+ MiB = .* \+ vector index \d+ \(0 stored vectors x \d+ bytes/);
});

test("restart: /health says 503 while a vector index opens, then 200; a kill -9 loses no accepted document", async () => {
  // Documents accepted just before a kill -9 are pending in the store; the next start resumes them.
  for (let batch = 0; batch < 5; ++batch) {
    const documents = Array.from({ length: MAX_UPLOAD_FILES },
      (_, i) => ({ name: `late-${batch}-${i}.txt`, text: `late document ${batch} ${i} `.repeat(200) }));
    const up = await call("POST", "/v1/kb/collections/paged/documents", { body: { documents } });
    assert.equal(up.status, 202, up.text);
  }
  const pending = await call("GET", "/v1/kb/collections/paged/documents?status=pending&limit=1000");
  server.proc.kill("SIGKILL");
  const pendingAtKill = pending.body.data.length;
  await server.exited;
  // QEMBED_KB_INDEX_OPEN_DELAY_MS holds each index's opening so that a test can see the 503.
  server = await startServer(serverArgs(), { env: { QEMBED_KB_INDEX_OPEN_DELAY_MS: "1500" } });
  url = server.url;
  const early = await get(`${url}/health`);
  assertApiError(assert, early, 503, /knowledge base: opening the vector index of collection '(docs|paged)'/);
  assert.equal(early.headers.get("retry-after"), "1");
  const busy = await call("POST", "/v1/kb/collections/paged/search", { body: { query: "late" } });
  if (busy.status === 503) assert.match(busy.body.error.message, /opening the vector index/);
  assert.equal((await search("docs", "axolotl", { mode: "keyword" })).hits[0]?.document, "guide.md",
    "keyword search works while the index opens");
  let health;
  for (let i = 0; i < 200; ++i) {
    health = await get(`${url}/health`);
    if (health.status === 200) break;
    await sleep(50);
  }
  assert.equal(health.status, 200, health.text);
  assert.ok((await search("docs", "axolotl")).hits.length >= 1);
  // Every accepted document ends indexed.
  let counts;
  for (let i = 0; i < 400; ++i) {
    counts = (await call("GET", "/v1/kb/collections/paged")).body.documents;
    if (counts.pending === 0) break;
    await sleep(50);
  }
  assert.deepEqual(counts, { pending: 0, indexed: 47, failed: 0 }, `pending at the kill: ${pendingAtKill}`);
  // Documents seen pending just before the kill were still pending at it (a batch takes longer than the kill):
  // the new process resumed them.
  if (pendingAtKill >= 10) assert.match(server.stderr(), /resuming the pending documents/);
  console.log(`kb_api: ${pendingAtKill} documents were pending at the kill -9`);
});

test("ingestion runs at bulk priority: searches and embeddings are answered while a large upload is ingested", async () => {
  await call("POST", "/v1/kb/collections", { body: { name: "bulk" } });
  const words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"];
  let text = "";
  for (let i = 0; text.length < 400_000; ++i) text += `${words[(i * 7) % 8]} ${words[(i * 3) % 8]} ${i}. `;
  const up = await call("POST", "/v1/kb/collections/bulk/documents", { body: form([["big.txt", text]]) });
  assert.equal(up.status, 202, up.text);
  const job = up.body.job.id;
  await sleep(300);  // its first batches are running
  const latencies = [];
  for (let i = 0; i < 5; ++i) {
    const t0 = Date.now();
    assert.ok((await search("docs", "axolotl limbs")).hits.length >= 1);
    const e = await call("POST", "/v1/embeddings", { body: { input: "a short query" } });
    assert.equal(e.status, 200, e.text);
    latencies.push(Date.now() - t0);
  }
  const state = (await call("GET", `/v1/kb/jobs/${job}`)).body.state;
  console.log(`kb_api: search + embedding during ingestion: ${latencies.join(", ")} ms (job ${state})`);
  // Only meaningful while the job still runs (it takes seconds on this model): the queries did not wait for it.
  if (state !== "done") assert.ok(Math.max(...latencies) < 3000, `latencies ${latencies}`);
  assert.equal((await call("DELETE", "/v1/kb/collections/bulk")).status, 200);
});

test("without --kb the routes do not exist; a file that is not a knowledge base fails the start with its name", async () => {
  const plain = await startServer();
  try {
    assertApiError(assert, await get(`${plain.url}/v1/kb/collections`), 404, /no route for GET \/v1\/kb\/collections/);
    const doc = (await get(`${plain.url}/openapi.json`)).body;
    assert.deepEqual(Object.keys(doc.paths).filter((p) => p.startsWith("/v1/kb/")), []);
  } finally {
    assert.equal((await plain.stop()).code, 0);
  }
  const garbage = path.join(dir, "not-a-db.bin");
  fs.writeFileSync(garbage, "this is not an SQLite database, just text that is long enough to have a header".repeat(20));
  await assert.rejects(startServer(["--kb", garbage]), (e) => {
    assert.match(e.message, /server exited \(1\)/);
    assert.match(e.message, /not-a-db\.bin/);
    return true;
  });
  await assert.rejects(startServer(["--max-upload-mb", "5"]), /--max-upload-mb and --max-upload-files need --kb PATH/);
});

test("a collection built with another model: 409 for vector search, POST reindex re-embeds it in the background", async () => {
  const { qembed, model } = await import("../cli/helpers.mjs");
  const other = model("tiny-F32-seed9.gguf", ["--shape", "tiny", "--format", "gguf", "--type", "F32", "--seed", "9"]);
  const otherDir = fs.mkdtempSync(path.join(os.tmpdir(), "qembed-kb-reindex-"));
  const otherDb = path.join(otherDir, "kb.db");
  const notes = path.join(otherDir, "notes.md");
  fs.writeFileSync(notes, GUIDE);
  for (const args of [["kb", "create", "--db", otherDb, "--collection", "old", "--model", other, "--chunk-tokens", "16",
    "--chunk-overlap", "0"], ["kb", "add", "--db", otherDb, "--collection", "old", "--model", other, notes]]) {
    const r = qembed(args);
    assert.equal(r.status, 0, r.stderr);
  }
  const s = await startServer(["--kb", otherDb]);
  try {
    const ask = (method, route, body) => fetch(`${s.url}${route}`, {
      method, headers: { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, body: await r.json() }));
    let c = await ask("GET", "/v1/kb/collections/old");
    assert.equal(c.body.model_matches, false);
    const refused = await ask("POST", "/v1/kb/collections/old/search", { query: "zebrafish", mode: "vector" });
    assert.equal(refused.status, 409);
    assert.match(refused.body.error.message, /built with model/);
    assert.equal((await ask("POST", "/v1/kb/collections/old/search", { query: "zebrafish", mode: "keyword" })).status, 200);

    assert.equal((await ask("POST", "/v1/kb/collections/old/reindex", { dimensions: 0 })).status, 400);
    const started = await ask("POST", "/v1/kb/collections/old/reindex", {});
    assert.equal(started.status, 202, JSON.stringify(started.body));
    assert.ok(["running", "done"].includes(started.body.reindex.state));
    for (let i = 0; i < 400 && c.body.reindex?.state !== "done"; i++) {
      await sleep(50);
      c = await ask("GET", "/v1/kb/collections/old");
      assert.notEqual(c.body.reindex?.state, "failed", JSON.stringify(c.body.reindex));
    }
    assert.equal(c.body.reindex.state, "done");
    assert.equal(c.body.reindex.done, c.body.reindex.total);
    assert.ok(c.body.reindex.total >= 2);
    assert.equal(c.body.model_matches, true);
    const hits = await ask("POST", "/v1/kb/collections/old/search", { query: "zebrafish", mode: "vector", top_k: 50 });
    assert.equal(hits.status, 200);
    assert.equal(hits.body.hits.length, c.body.reindex.total);
    // Nothing left to do: the same model at the same dimensions is a conflict, not a second re-embedding.
    assert.equal((await ask("POST", "/v1/kb/collections/old/reindex", {})).status, 409);
  } finally {
    assert.equal((await s.stop()).code, 0);
    fs.rmSync(otherDir, { recursive: true, force: true });
  }
});

test("a kb add from the command line while the server has the same file open is seen by the server", async () => {
  const { qembed, tinyGguf } = await import("../cli/helpers.mjs");
  let r = await call("POST", "/v1/kb/collections", { body: { name: "shared", chunk_tokens: 32, chunk_overlap: 0 } });
  assert.equal(r.status, 201, r.text);
  // Vector search once first, so the server holds the collection's index open before the other process writes.
  assert.equal((await search("shared", "anything", { mode: "vector" })).hits.length, 0);
  const file = path.join(dir, "from-cli.md");
  fs.writeFileSync(file, "# From the command line\n\nThe axolotl regrows its limbs.\n");
  const added = qembed(["kb", "add", "--db", dbPath, "--collection", "shared", "--model", tinyGguf(), file]);
  assert.equal(added.status, 0, added.stderr);
  assert.equal(JSON.parse(added.stdout.trim()).status, "indexed");
  const keyword = await search("shared", "axolotl", { mode: "keyword" });
  assert.equal(keyword.hits.length, 1);
  assert.equal(keyword.hits[0].document, file);
  // The server's in-memory vector index replays the other process's commit from the store's change log.
  const vector = await search("shared", "limbs", { mode: "vector", top_k: 10 });
  assert.equal(vector.hits.length, 1);
  assert.equal(vector.hits[0].document, file);
});

// The knowledge base with a reranker (`serve --reranker-model`): searches rerank their candidates, the scores are the
// reranker's own (the same as POST /v1/rerank gives each passage), and retrieval_rank is the place before.
test("with --reranker-model: reranked hits, rerank_score as /v1/rerank gives it, retrieval_rank, rerank_ms",
  async () => {
    const reranker = model("rr-tiny-F32.gguf", ["--shape", "tiny", "--format", "gguf", "--type", "F32", "--reranker",
      "--seed", "5"]);
    const rrDir = fs.mkdtempSync(path.join(os.tmpdir(), "qembed-kb-rr-"));
    const s = await startServer(["--kb", path.join(rrDir, "kb.db"), "--reranker-model", reranker]);
    try {
      const post = async (route, body) => {
        const res = await fetch(`${s.url}${route}`, { method: "POST", headers: { "content-type": "application/json" },
          body: JSON.stringify(body) });
        return { status: res.status, body: await res.json() };
      };
      const models = await (await fetch(`${s.url}/v1/models`)).json();
      assert.ok(models.data.some((m) => m.role === "reranker"), JSON.stringify(models));
      const created = await post("/v1/kb/collections", { name: "ranked", rerank: true, chunk_tokens: 16, chunk_overlap: 2 });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const texts = ["The supplier is liable for any breach of contract, capped at the annual fee.",
        "Invoices are payable within thirty days of delivery of the goods.",
        "A breach of the contract by either party allows the other to end it with notice.",
        "The goods carry a warranty of two years against defects in material and work.",
        "Meeting notes: the supplier asked about liability caps and payment terms."];
      const up = await post("/v1/kb/collections/ranked/documents?wait=true",
        { documents: texts.map((text, i) => ({ name: `d${i}.txt`, text })) });
      assert.equal(up.status, 200, JSON.stringify(up.body));
      const query = "who is liable for a breach?";
      const retrieved = await post("/v1/kb/collections/ranked/search", { query, rerank: false, top_k: 50 });
      assert.equal(retrieved.status, 200);
      assert.equal(retrieved.body.reranked, false);
      const r = await post("/v1/kb/collections/ranked/search", { query, top_k: 3, rerank_candidates: 50 });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.reranked, true, "the collection's default");
      assert.equal(typeof r.body.timings.rerank_ms, "number");
      assert.ok(r.body.usage.rerank_tokens > 0);
      assert.equal(r.body.hits.length, 3);
      const direct = await post("/v1/rerank", { query, documents: r.body.hits.map((h) => h.text) });
      assert.equal(direct.status, 200, JSON.stringify(direct.body));
      r.body.hits.forEach((h, i) => {
        assert.equal(h.rank, i + 1);
        if (i > 0) assert.ok(h.rerank_score <= r.body.hits[i - 1].rerank_score, "ordered by rerank score");
        const before = retrieved.body.hits[h.retrieval_rank - 1];
        assert.equal(before.chunk_id ?? before.text, h.chunk_id ?? h.text);
        assert.equal(before.score, h.score, "score stays the retrieval score");
        assert.equal(direct.body.results.find((x) => x.index === i).relevance_score, h.rerank_score);
      });
    } finally {
      assert.equal((await s.stop()).code, 0);
      fs.rmSync(rrDir, { recursive: true, force: true });
    }
  });
