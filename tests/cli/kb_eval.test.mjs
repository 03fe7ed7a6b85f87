// qembed kb eval as a user runs it: a generated BEIR dataset whose keyword ranking is known in advance, so the
// metrics it must print are computed here by hand; the shape of the output with and without --mode; a second run
// that finds the corpus already ingested; bad inputs reported before the model loads.
//
// The test model has seeded random weights, so vector rankings are noise. What is still certain for them: the
// collection has fewer than 100 documents, so every document is among a query's first 100 and recall@100 is 1.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { assertCleanError, jsonl, qembed, tinyGguf } from "./helpers.mjs";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "qembed-kbeval-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const NO_MODEL = path.join(tmp, "Qwen3-Embedding-8B-huge.gguf");
const METRICS = ["ndcg@10", "recall@10", "recall@100", "mrr@10"];

const FILLER = "the quarterly report covers budgets staffing travel and general office matters for the team".split(" ");
/** `n` filler words, varied by `seed` so documents differ. */
function filler(n, seed) {
  return Array.from({ length: n }, (_, i) => FILLER[(i * 7 + seed) % FILLER.length]).join(" ");
}
/** A word that occurs nowhere else in the corpus: "zqaa", "zqab", ... (letters only: one keyword term). */
function rareWord(i) {
  return "zq" + String.fromCharCode(97 + Math.floor(i / 26)) + String.fromCharCode(97 + (i % 26));
}

const TWIN_TEXT = `${rareWord(11)} ${filler(8, 11)}`;

/**
 * The dataset. Each query is "find <its rare word>" ("find" is in no document), so keyword search (BM25) returns
 * exactly the documents holding that word, ranked by term frequency and shortness:
 *   q0..q7  a grade-2 document (the word 3 times, short) and a grade-1 one (once, in 30 words): the ranking is
 *           the ideal one, every metric 1;
 *   q8, q9  a grade-1 document (once, long) and a decoy judged 0 (3 times, short) that ranks first:
 *           nDCG@10 = 1/log2(3), MRR@10 = 1/2, recall 1;
 *   q10     judged, but only with grade 0: not scored;
 *   q11     two documents with the very same text, both grade 1: both must be found (nDCG 1, recall 1);
 *   q12     in queries.jsonl without judgements: not scored.
 * Plus 15 documents of filler only, and one qrels line naming a document that does not exist (skipped, warned).
 */
function makeDataset(dir) {
  const corpus = [];
  const qrels = [["query-id", "corpus-id", "score"]];
  const queries = [];
  for (let q = 0; q <= 12; q++) queries.push({ _id: `q${q}`, text: `find ${rareWord(q)}` });
  for (let q = 0; q < 8; q++) {
    const w = rareWord(q);
    corpus.push({ _id: `best-${q}`, title: `Memo ${q}`, text: `${w} ${w} ${w} ${filler(3, q)}` });
    corpus.push({ _id: `good-${q}`, text: `${filler(15, q)} ${w} ${filler(15, q + 1)}` });
    qrels.push([`q${q}`, `best-${q}`, "2"], [`q${q}`, `good-${q}`, "1"]);
  }
  for (const q of [8, 9]) {
    const w = rareWord(q);
    corpus.push({ _id: `relevant-${q}`, text: `${filler(15, q)} ${w} ${filler(15, q + 2)}` });
    corpus.push({ _id: `decoy-${q}`, text: `${w} ${w} ${w} ${filler(3, q)}` });
    qrels.push([`q${q}`, `relevant-${q}`, "1"], [`q${q}`, `decoy-${q}`, "0"]);
  }
  corpus.push({ _id: "zero-10", text: `${rareWord(10)} ${filler(5, 10)}` });
  qrels.push(["q10", "zero-10", "0"]);
  corpus.push({ _id: "twin-a", text: TWIN_TEXT }, { _id: "twin-b", text: TWIN_TEXT });
  qrels.push(["q11", "twin-a", "1"], ["q11", "twin-b", "1"], ["q11", "no-such-doc", "1"]);
  for (let i = 0; i < 15; i++) corpus.push({ _id: `filler-${i}`, title: `Notes ${i}`, text: filler(10 + i, i) });
  const files = {
    corpus: path.join(dir, "corpus.jsonl"),
    queries: path.join(dir, "queries.jsonl"),
    qrels: path.join(dir, "qrels.tsv"),
  };
  fs.writeFileSync(files.corpus, jsonl(corpus));
  fs.writeFileSync(files.queries, jsonl(queries));
  fs.writeFileSync(files.qrels, qrels.map((r) => r.join("\t")).join("\n") + "\n");
  return { files, nDocuments: corpus.length };
}

// The keyword metrics the dataset implies: 11 scored queries, 9 perfect and 2 with the decoy first.
const SCORED_QUERIES = 11;
const EXPECTED_KEYWORD = {
  "ndcg@10": (9 + 2 / Math.log2(3)) / SCORED_QUERIES,
  "recall@10": 1,
  "recall@100": 1,
  "mrr@10": (9 + 2 * 0.5) / SCORED_QUERIES,
};

function evalArgs(db, files, extra = []) {
  return ["kb", "eval", "--db", db, "--collection", "labelled", "--model", tinyGguf(), "--corpus", files.corpus,
    "--queries", files.queries, "--qrels", files.qrels, ...extra];
}

function assertConsistent(name, m, nDocuments) {
  for (const key of METRICS) {
    assert.equal(typeof m[key], "number", `${name}: ${key} missing`);
    assert.ok(m[key] >= 0 && m[key] <= 1, `${name}: ${key} = ${m[key]} outside [0, 1]`);
  }
  assert.ok(m["recall@100"] >= m["recall@10"], `${name}: recall@100 < recall@10`);
  assert.equal(m.queries, SCORED_QUERIES, `${name}: queries`);
  assert.equal(m.documents, nDocuments, `${name}: documents`);
  assert.equal(typeof m.search_seconds, "number");
}

test("kb eval --mode keyword prints the metrics the dataset implies, exactly", () => {
  const { files, nDocuments } = makeDataset(tmp);
  const db = path.join(tmp, "keyword.db");
  const r = qembed(evalArgs(db, files, ["--mode", "keyword"]));
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.equal(lines.length, 1, "one JSON object");
  const m = JSON.parse(lines[0]);
  assertConsistent("keyword", m, nDocuments);
  for (const key of METRICS) assert.ok(Math.abs(m[key] - EXPECTED_KEYWORD[key]) < 1e-9, `${key}: ${m[key]} != ${EXPECTED_KEYWORD[key]}`);
  assert.match(r.stderr, /qrels\.tsv:\d+: corpus-id "no-such-doc" is not in the corpus: line skipped/);
  assert.match(r.stderr, new RegExp(`corpus ingested: ${nDocuments} documents \\(${nDocuments} indexed, 0 already there`));

  // Again on the same database, with a third copy of the twins' text added to the corpus and judged relevant to
  // q11: nothing is ingested twice, the copy is stored as a second name of a content already there (so searches
  // name only one document per hit), and it must still be found: the numbers are the same.
  fs.appendFileSync(files.corpus, jsonl([{ _id: "twin-c", text: TWIN_TEXT }]));
  fs.appendFileSync(files.qrels, "q11\ttwin-c\t1\n");
  const again = qembed(evalArgs(db, files, ["--mode", "keyword"]));
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, new RegExp(`corpus ingested: ${nDocuments + 1} documents \\(1 indexed, ${nDocuments} already there`));
  assert.match(again.stderr, /, 0 tokens in/, "the copy was embedded again");
  const m2 = JSON.parse(again.stdout);
  assert.equal(m2.documents, nDocuments + 1);
  for (const key of METRICS) assert.ok(Math.abs(m2[key] - EXPECTED_KEYWORD[key]) < 1e-9, `second run ${key}: ${m2[key]} != ${EXPECTED_KEYWORD[key]}`);
});

test("kb eval without --mode prints one object keyed by mode, each consistent", () => {
  const { files, nDocuments } = makeDataset(tmp);
  const r = qembed(evalArgs(path.join(tmp, "all.db"), files, ["--progress"]));
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(out).sort(), ["hybrid", "keyword", "vector"]);
  for (const [mode, m] of Object.entries(out)) {
    assertConsistent(mode, m, nDocuments);
    // Fewer than 100 documents: every one is in the first 100 of any ranking that covers the collection.
    assert.equal(m["recall@100"], 1, `${mode}: recall@100`);
  }
  for (const key of METRICS) assert.ok(Math.abs(out.keyword[key] - EXPECTED_KEYWORD[key]) < 1e-9, key);
  assert.match(r.stderr, /docs ingested/);  // the progress line
});

test("bad inputs are clear errors with exit status 1, before the model loads", () => {
  const dir = fs.mkdtempSync(path.join(tmp, "bad-"));
  const { files } = makeDataset(dir);
  const args = (over, extra = []) => ["kb", "eval", "--db", path.join(dir, "x.db"), "--collection", "c", "--model", NO_MODEL,
    "--corpus", over.corpus ?? files.corpus, "--queries", over.queries ?? files.queries, "--qrels", over.qrels ?? files.qrels, ...extra];
  const write = (name, text) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text);
    return p;
  };
  const cases = [
    [args({ corpus: path.join(dir, "missing.jsonl") }), /missing\.jsonl: cannot open/],
    [args({ corpus: write("c1.jsonl", '{"_id": "a", "text": "x"}\n{"_id": "b", "text": \n') }), /c1\.jsonl:2: invalid JSON/],
    [args({ corpus: write("c2.jsonl", '{"_id": "a", "text": "x"}\n{"_id": "a", "text": "y"}\n') }), /c2\.jsonl:2: duplicate _id "a" \(first on line 1\)/],
    [args({ corpus: write("c3.jsonl", '{"_id": "a", "body": "x"}\n') }), /c3\.jsonl:1: missing field "text"/],
    [args({ queries: write("q1.jsonl", '{"_id": "q0", "text": ""}\n') }), /q1\.jsonl:1: empty query text/],
    [args({ qrels: write("r1.tsv", "q0\tbest-0\t1\nq0\tgood-0\thigh\n") }), /r1\.tsv:2: score "high" is not an integer/],
    [args({ qrels: write("r3.tsv", "query-id\tcorpus-id\tscore\n") }), /r3\.tsv: no judgements/],
    [args({ qrels: write("r2.tsv", "query-id\tcorpus-id\tscore\nq0\tbest-0\n") }), /r2\.tsv:2: expected 3 tab-separated fields/],
    [args({}, ["--mode", "semantic"]), /--mode must be vector, keyword or hybrid, got "semantic"/],
    [["kb", "eval", "--db", path.join(dir, "x.db"), "--collection", "c", "--model", NO_MODEL, "--corpus", files.corpus, "--queries", files.queries], /missing required flag --qrels/],
  ];
  for (const [a, pattern] of cases) {
    const r = qembed(a);
    assertCleanError(assert, r, pattern);
    assert.doesNotMatch(r.stderr, /huge\.gguf/, `${pattern}: reached the model`);
  }
});
