// The knowledge base from the command line, as a user meets it: qembed kb create / add / search / list / rm /
// check / reindex / import / export / backup, the JSON contract of each, duplicates and replacements, nothing left
// behind after a delete, bad files next to good ones, another model, and a kill -9 in the middle of an ingestion.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { QEMBED, assertCleanError, model, parseJsonl, qembed, tinyGguf } from "./helpers.mjs";
import { CHINESE_TXT, CONTRACT_MD, MANUAL_HTML, makePdf, manyDocuments, writeTree } from "./kb_docs.mjs";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "qembed-kb-cli-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const MODEL = tinyGguf();
let dbCounter = 0;
function freshDb() {
  return path.join(tmp, `kb${++dbCounter}.db`);
}

function ok(args) {
  const r = qembed(args);
  assert.equal(r.signal, null, `killed by ${r.signal}: ${r.stderr}`);
  assert.equal(r.status, 0, `qembed ${args.join(" ")}: ${r.stderr}`);
  return parseJsonl(r.stdout);
}

function create(db, collection = "docs", extra = []) {
  return ok(["kb", "create", "--db", db, "--collection", collection, "--model", MODEL, "--chunk-tokens", "64",
    "--chunk-overlap", "8", ...extra])[0];
}

function add(db, files, extra = [], collection = "docs") {
  return qembed(["kb", "add", "--db", db, "--collection", collection, "--model", MODEL, ...extra, ...files]);
}

function search(db, query, extra = [], collection = "docs") {
  return ok(["kb", "search", "--db", db, "--collection", collection, "--model", MODEL, ...extra, query]);
}

function check(db) {
  const r = qembed(["kb", "check", "--db", db]);
  const [report] = parseJsonl(r.stdout);
  return { status: r.status, report, stderr: r.stderr };
}

const docsDir = path.join(tmp, "docs");
writeTree(docsDir, {
  "contract.md": CONTRACT_MD,
  "manual.html": MANUAL_HTML,
  "zh/labour.txt": CHINESE_TXT,
  // Each page longer than half a chunk, so the two pages are two chunks.
  "report.pdf": makePdf([
    "Quarterly report overview. " + "The board reviewed the plans of every division in detail. ".repeat(5),
    "Revenue grew in the northern region. " + "Costs stayed flat while sales rose in most markets. ".repeat(5),
  ]),
  ".hidden/secret.txt": "never ingested",
});

test("create, add a folder, search: every hit carries its citation", () => {
  const db = freshDb();
  const c = create(db);
  assert.equal(c.name, "docs");
  assert.equal(c.dimensions, 256);
  assert.equal(c.model.dimensions, 256);
  assert.match(c.model.fingerprint, /^[0-9a-f]{16}$/);

  const r = add(db, [docsDir]);
  assert.equal(r.status, 0, r.stderr);
  const lines = parseJsonl(r.stdout);
  assert.equal(lines.length, 4, "four files; the hidden folder is skipped");
  for (const l of lines) {
    assert.deepEqual(Object.keys(l).sort(), ["chunks", "document_id", "file", "status"]);
    assert.equal(l.status, "indexed");
    assert.ok(l.chunks >= 1);
  }

  // Keyword search works without the model; a two-character Chinese word matches inside longer words.
  const zh = ok(["kb", "search", "--db", db, "--collection", "docs", "--mode", "keyword", "合同"]);
  assert.equal(zh.length, 1);
  assert.equal(zh[0].document, path.join(docsDir, "zh/labour.txt"));
  assert.deepEqual(zh[0].highlights, [[2, 4], [8, 10]]); // 劳动[合同]法规定了[合同]条款
  assert.equal([...CHINESE_TXT].slice(zh[0].start, zh[0].end).join("").trim(), zh[0].text.trim());

  // Sections from Markdown headings, offsets in code points of the extracted text.
  const liability = search(db, "liable breach", ["--mode", "keyword"]);
  assert.equal(liability[0].document, path.join(docsDir, "contract.md"));
  assert.equal(liability[0].section, "Supply contract > Liability");
  assert.match(liability[0].text, /liable for any breach/);
  assert.ok(liability[0].end > liability[0].start);
  for (const key of ["rank", "score", "document_id", "document", "text", "start", "end"]) {
    assert.ok(key in liability[0], `hit has ${key}`);
  }

  // PDF pages: the second page's text is cited with page 2.
  const revenue = search(db, "revenue northern", ["--mode", "keyword"]);
  assert.equal(revenue[0].document, path.join(docsDir, "report.pdf"));
  // (Its chunk may start with an overlap from page 1: then it cites pages 1-2.)
  assert.equal(revenue[0].page_last ?? revenue[0].page, 2);
  const quarterly = search(db, "quarterly overview", ["--mode", "keyword"]);
  assert.equal(quarterly[0].page, 1);
  assert.equal(quarterly[0].page_last, undefined, "a chunk of one page has no page_last");

  // HTML boilerplate (nav, footer, script) is not indexed.
  assert.equal(search(db, "copyright boilerplate tracking", ["--mode", "keyword"]).length, 0);
  assert.equal(search(db, "ignition", ["--mode", "keyword"])[0].section, "Starting the engine");

  // Hybrid (the default) and vector searches rank every chunk with fused scores, best first.
  const hybrid = search(db, "what is the supplier liable for?", ["--top-k", "3"]);
  assert.equal(hybrid.length, 3);
  assert.deepEqual(hybrid.map((h) => h.rank), [1, 2, 3]);
  for (let i = 1; i < hybrid.length; i++) assert.ok(hybrid[i - 1].score >= hybrid[i].score);
  const vector = search(db, "engine", ["--mode", "vector", "--top-k", "100"]);
  const stats = check(db);
  assert.equal(stats.status, 0, stats.stderr);
  assert.equal(vector.length, stats.report.chunks, "vector search reaches every chunk");
  for (const h of vector) assert.ok(h.score <= 1.0001 && h.score >= -1.0001);

  // Filters: by format and by document id.
  const pdfOnly = search(db, "report", ["--mode", "vector", "--format", "pdf", "--top-k", "50"]);
  assert.ok(pdfOnly.length >= 1);
  for (const h of pdfOnly) assert.equal(h.document, path.join(docsDir, "report.pdf"));
  const one = search(db, "anything", ["--mode", "vector", "--document", String(lines[0].document_id)]);
  for (const h of one) assert.equal(h.document_id, lines[0].document_id);
});

test("duplicates are never embedded twice; new content replaces; delete leaves nothing behind", () => {
  const db = freshDb();
  create(db);
  const dir = path.join(tmp, "dups");
  writeTree(dir, { "a.md": CONTRACT_MD, "copy-of-a.md": CONTRACT_MD, "b.txt": CHINESE_TXT });
  const first = parseJsonl(add(db, [dir]).stdout);
  assert.deepEqual(first.map((l) => l.status), ["indexed", "indexed", "indexed"]);
  const before = check(db).report;
  const aChunks = first.find((l) => l.file.endsWith("/a.md")).chunks;
  assert.equal(before.chunks, aChunks + first.find((l) => l.file.endsWith("b.txt")).chunks,
    "the copy shares the stored chunks of a.md");

  // The same folder again: unchanged files are duplicates.
  const again = parseJsonl(add(db, [dir]).stdout);
  assert.deepEqual(again.map((l) => l.status), ["duplicate", "duplicate", "duplicate"]);
  assert.deepEqual(check(db).report, before);

  // New content under an existing name replaces the old version atomically.
  fs.writeFileSync(path.join(dir, "b.txt"), "A completely new text about tariffs.\n");
  const replaced = parseJsonl(add(db, [path.join(dir, "b.txt")]).stdout);
  assert.equal(replaced[0].status, "replaced");
  assert.equal(ok(["kb", "search", "--db", db, "--collection", "docs", "--mode", "keyword", "合同"]).length, 0);
  assert.equal(ok(["kb", "search", "--db", db, "--collection", "docs", "--mode", "keyword", "tariffs"]).length, 1);

  // Deleting every document removes every chunk, vector and keyword row.
  const docs = ok(["kb", "list", "--db", db, "--collection", "docs"]);
  assert.equal(docs.length, 3);
  for (const d of docs) {
    const removed = ok(["kb", "rm", "--db", db, "--collection", "docs", "--document", String(d.document_id)]);
    assert.equal(removed[0].removed, true);
  }
  const empty = check(db);
  assert.equal(empty.status, 0, empty.stderr);
  for (const key of ["documents", "chunks", "vectors", "keyword_rows", "pending_sources"]) {
    assert.equal(empty.report[key], 0, `${key} left behind`);
  }
  assert.equal(search(db, "liability", ["--mode", "vector"]).length, 0);
});

test("bad files fail one by one with a reason; the good ones are still ingested; exit status 1", () => {
  const db = freshDb();
  create(db);
  const dir = path.join(tmp, "bad");
  writeTree(dir, {
    "good.md": CONTRACT_MD,
    "empty.txt": "",
    "binary.txt": Buffer.from([0, 1, 2, 3, 255, 0, 7, 0]),
    "corrupt.pdf": Buffer.from("%PDF-1.4\nthis is not a pdf at all"),
    "scanned.pdf": makePdf([""]),
  });
  const r = add(db, [dir]);
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.signal, null);
  const byFile = Object.fromEntries(parseJsonl(r.stdout).map((l) => [path.basename(l.file), l]));
  assert.equal(byFile["good.md"].status, "indexed");
  for (const bad of ["empty.txt", "binary.txt", "corrupt.pdf", "scanned.pdf"]) {
    assert.equal(byFile[bad].status, "failed", bad);
    assert.match(byFile[bad].error, new RegExp(bad.replace(".", "\\.")), `${bad}: the error names the file`);
  }
  assert.match(byFile["empty.txt"].error, /empty/);
  assert.match(byFile["binary.txt"].error, /not text|binary/);
  assert.match(byFile["scanned.pdf"].error, /no text/);
  const failed = ok(["kb", "list", "--db", db, "--collection", "docs", "--status", "failed"]);
  assert.equal(failed.length, 4, "failed files are listed with their reason");
  for (const f of failed) assert.ok(f.error.length > 0);
  assert.equal(check(db).status, 0);
  // A missing file is an error before anything is ingested.
  assertCleanError(assert, add(db, [path.join(dir, "nope.md")]), /nope\.md: no such file/);
});

test("another model is refused naming both; reindex re-embeds from the stored text", () => {
  const db = freshDb();
  create(db, "docs", ["--dimensions", "128"]);
  assert.equal(add(db, [path.join(docsDir, "contract.md")]).status, 0);
  const other = model("tiny-F32-seed9.gguf", ["--shape", "tiny", "--format", "gguf", "--type", "F32", "--seed", "9"]);
  const refused = qembed(["kb", "search", "--db", db, "--collection", "docs", "--model", other, "liability"]);
  assertCleanError(assert, refused, /built with model .*fingerprint [0-9a-f]{16}.*the loaded model is .*kb reindex/);
  const before = check(db).report;

  const re = ok(["kb", "reindex", "--db", db, "--collection", "docs", "--model", other]);
  assert.equal(re[0].chunks, before.chunks);
  assert.equal(re[0].dimensions, 128);
  const hits = ok(["kb", "search", "--db", db, "--collection", "docs", "--model", other, "--mode", "vector",
    "liability"]);
  assert.equal(hits.length, before.chunks);
  assert.equal(check(db).status, 0);
  // And now the first model is the stranger.
  assertCleanError(assert, qembed(["kb", "add", "--db", db, "--collection", "docs", "--model", MODEL, docsDir]),
    /built with model/);
});

test("export with vectors, import into another collection, backup while open", () => {
  const db = freshDb();
  create(db);
  assert.equal(add(db, [docsDir]).status, 0);
  const exported = path.join(tmp, "export.jsonl");
  ok(["kb", "export", "--db", db, "--collection", "docs", "--vectors", "--output", exported]);
  const rows = parseJsonl(fs.readFileSync(exported, "utf8"));
  assert.equal(rows.length, check(db).report.chunks);
  for (const row of rows) assert.equal(row.vector.length, 256);

  create(db, "copy");
  const imported = ok(["kb", "import", "--db", db, "--collection", "copy", "--input", exported]);
  assert.equal(imported.length, 4);
  for (const l of imported) assert.equal(l.status, "indexed");
  // The same vectors answer a query the same way in both collections.
  const a = search(db, "payment terms", ["--mode", "vector", "--top-k", "3"]);
  const b = search(db, "payment terms", ["--mode", "vector", "--top-k", "3"], "copy");
  assert.deepEqual(b.map((h) => h.text), a.map((h) => h.text));
  assert.ok(Math.abs(a[0].score - b[0].score) < 1e-4);

  // Wrong dimensions: a clear error naming the line.
  const bad = path.join(tmp, "bad-import.jsonl");
  fs.writeFileSync(bad, JSON.stringify({ document: "x", text: "hello", vector: [1, 2, 3] }) + "\n");
  assertCleanError(assert, qembed(["kb", "import", "--db", db, "--collection", "copy", "--input", bad]),
    /line 1: "vector" must be an array of 256 numbers.*got 3/);

  const backup = path.join(tmp, "backup.db");
  ok(["kb", "backup", "--db", db, "--output", backup]);
  const listed = ok(["kb", "list", "--db", backup]).map((c) => c.name).sort();
  assert.deepEqual(listed, ["copy", "docs"]);
  assert.equal(check(backup).status, 0);
});

test("metadata filters and the search contract's flags", () => {
  const db = freshDb();
  create(db);
  assert.equal(add(db, [path.join(docsDir, "contract.md")], ["--metadata", '{"team":"legal","year":2024}']).status, 0);
  assert.equal(add(db, [path.join(docsDir, "manual.html")], ["--metadata", '{"team":"ops"}']).status, 0);
  const legal = search(db, "anything", ["--mode", "vector", "--meta", "team=legal", "--top-k", "50"]);
  assert.ok(legal.length >= 1);
  for (const h of legal) assert.equal(h.metadata.team, "legal");
  assert.ok(search(db, "x", ["--mode", "vector", "--meta", "year=2024"]).length >= 1);
  assert.equal(search(db, "x", ["--mode", "vector", "--meta", "year=2023"]).length, 0);
  assertCleanError(assert, qembed(["kb", "search", "--db", db, "--collection", "docs", "--model", MODEL, "--mode",
    "fuzzy", "q"]), /--mode must be hybrid, vector or keyword/);
  assertCleanError(assert, qembed(["kb", "add", "--db", db, "--collection", "docs", "--model", MODEL, "--metadata",
    "[1]", docsDir]), /--metadata must be a JSON object/);
  assertCleanError(assert, qembed(["kb", "search", "--db", db, "--collection", "nope", "--mode", "keyword", "q"]),
    /no collection named 'nope'/);
});

test("kill -9 during an ingestion: indexed stays searchable, the rest resumes, check is clean", async () => {
  const db = freshDb();
  create(db);
  const dir = path.join(tmp, "many");
  const total = 300;
  manyDocuments(dir, total);
  const child = spawn(QEMBED, ["kb", "add", "--db", db, "--collection", "docs", "--model", MODEL, "--threads", "1", dir],
    { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const reported = await new Promise((resolve) => {
    child.stdout.on("data", (d) => {
      out += d;
      const lines = out.split("\n").filter((l) => l.trim() !== "");
      if (lines.length >= 20 && !child.killed) {
        child.kill("SIGKILL");
        resolve(lines.map((l) => JSON.parse(l)));
      }
    });
    child.on("exit", () => resolve(parseJsonl(out)));
  });
  await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.on("exit", resolve)));
  assert.equal(child.signalCode, "SIGKILL", "the run must be killed in the middle to test anything");
  assert.ok(reported.length < total, `killed after ${reported.length} of ${total}`);

  // Every document reported indexed is searchable by its own marker word.
  for (const l of reported) {
    assert.equal(l.status, "indexed");
    const marker = "marker" + Number(path.basename(l.file).slice(3, 7));
    const hits = ok(["kb", "search", "--db", db, "--collection", "docs", "--mode", "keyword", marker]);
    assert.ok(hits.some((h) => h.document === l.file), `${l.file} was reported indexed but is not found`);
  }
  const afterKill = check(db);
  assert.equal(afterKill.status, 0, afterKill.stderr);
  const listed = ok(["kb", "list", "--db", db, "--collection", "docs"]);
  for (const d of listed) assert.ok(["indexed", "pending"].includes(d.status), `${d.name}: ${d.status} ${d.error ?? ""}`);
  assert.ok(listed.filter((d) => d.status === "indexed").length >= reported.length);

  // Run again: the pending ones resume, the indexed ones are duplicates, everything ends indexed.
  const again = add(db, [dir], ["--threads", "2"]);
  assert.equal(again.status, 0, again.stderr);
  const final = ok(["kb", "list", "--db", db, "--collection", "docs"]);
  assert.equal(final.length, total);
  for (const d of final) assert.equal(d.status, "indexed", d.name);
  const clean = check(db);
  assert.equal(clean.status, 0, clean.stderr);
  assert.equal(clean.report.pending_sources, 0);
});

test("search --rerank: the reranker's order and score beside the retrieval score; a collection's default", () => {
  const RERANKER = model("rr-tiny-F32.gguf", ["--shape", "tiny", "--format", "gguf", "--type", "F32", "--reranker",
    "--seed", "5"]);
  const db = freshDb();
  assert.equal(create(db).rerank, false);
  assert.equal(add(db, [docsDir]).status, 0);
  const query = "liability for a breach of contract";
  const retrieved = search(db, query, ["--top-k", "8"]);
  assert.ok(retrieved.length >= 4, "enough chunks for a rerank to matter");
  for (const h of retrieved) assert.equal(h.rerank_score, undefined);
  const reranked = search(db, query, ["--top-k", "3", "--rerank", "--rerank-candidates", "8",
    "--reranker-model", RERANKER]);
  assert.equal(reranked.length, 3);
  reranked.forEach((h, i) => {
    assert.equal(h.rank, i + 1);
    assert.ok(h.rerank_score >= 0 && h.rerank_score <= 1, `rerank_score ${h.rerank_score}`);
    if (i > 0) assert.ok(h.rerank_score <= reranked[i - 1].rerank_score, "ordered by rerank score");
    // score and retrieval_rank: the hit as retrieval alone placed it.
    const before = retrieved[h.retrieval_rank - 1];
    assert.equal(before.text, h.text);
    assert.equal(before.score, h.score);
  });
  assertCleanError(assert, qembed(["kb", "search", "--db", db, "--collection", "docs", "--model", MODEL, "--rerank",
    query]), /reranking needs a reranker model: start with --reranker-model/);
  assertCleanError(assert, qembed(["kb", "search", "--db", db, "--collection", "docs", "--model", MODEL, "--rerank",
    "--reranker-model", RERANKER, "--rerank-candidates", "0", query]), /--rerank-candidates/);

  // A collection that reranks by default: searched with the reranker it reranks, --no-rerank turns it off, and
  // without a reranker model it is the same clear error.
  assert.equal(create(db, "ranked", ["--rerank"]).rerank, true);
  assert.equal(add(db, [path.join(docsDir, "contract.md")], [], "ranked").status, 0);
  const byDefault = search(db, query, ["--reranker-model", RERANKER], "ranked");
  assert.ok(byDefault.length >= 1);
  for (const h of byDefault) assert.equal(typeof h.rerank_score, "number");
  for (const h of search(db, query, ["--no-rerank"], "ranked")) assert.equal(h.rerank_score, undefined);
  assertCleanError(assert, qembed(["kb", "search", "--db", db, "--collection", "ranked", "--model", MODEL, query]),
    /reranking needs a reranker model/);
  const listed = ok(["kb", "list", "--db", db]);
  assert.equal(listed.find((c) => c.name === "ranked").rerank, true);
});
