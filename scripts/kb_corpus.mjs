// Writes a mixed corpus for the knowledge-base benchmarks: N documents cycling through Markdown, HTML, plain text
// and PDF, with sections, varied sentences (a fixed seed: the same corpus every run) and a given size.
//
//   node scripts/kb_corpus.mjs --out DIR [--docs 120] [--words 250] [--seed 1]
import fs from "node:fs";
import path from "node:path";
import { makePdf } from "../tests/cli/kb_docs.mjs";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const out = args.out;
if (!out) throw new Error("--out DIR is required");
const docs = Number(args.docs ?? 120);
const wordsPerDoc = Number(args.words ?? 250);
let seed = Number(args.seed ?? 1);
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const pick = (list) => list[Math.floor(random() * list.length)];

const subjects = ["The supplier", "Each party", "The customer", "The engine", "The committee", "Our team", "The report",
  "This section", "The contractor", "The system", "Revenue", "The warranty"];
const verbs = ["shall deliver", "describes", "covers", "limits", "requires", "reviews", "measures", "replaces",
  "guarantees", "excludes", "records", "explains"];
const objects = ["the annual fee", "all spare parts", "liability for breach", "the payment schedule",
  "the quarterly results", "safety procedures", "the data retention policy", "termination rights",
  "the installation steps", "confidential information", "the service levels", "maintenance intervals"];
const tails = ["within thirty days", "unless agreed otherwise in writing", "as described in the annex",
  "for the whole term of the agreement", "at the request of either party", "in the northern region", "",
  "before the end of each quarter", "according to the manufacturer", "without further notice"];
function sentence() {
  const t = pick(tails);
  return `${pick(subjects)} ${pick(verbs)} ${pick(objects)}${t ? " " + t : ""}.`;
}
function paragraphs(words) {
  const out = [];
  let n = 0;
  while (n < words) {
    const p = [];
    for (let s = 0; s < 3 + Math.floor(random() * 4); s++) p.push(sentence());
    const text = p.join(" ");
    n += text.split(" ").length;
    out.push(text);
  }
  return out;
}

fs.mkdirSync(out, { recursive: true });
for (let i = 0; i < docs; i++) {
  const paras = paragraphs(wordsPerDoc);
  const title = `Document ${i}: ${pick(objects)}`;
  const base = path.join(out, `doc${String(i).padStart(4, "0")}`);
  switch (i % 4) {
    case 0: {
      let md = `# ${title}\n\n`;
      paras.forEach((p, j) => (md += (j % 3 === 0 ? `## Part ${j / 3 + 1}\n\n` : "") + p + "\n\n"));
      fs.writeFileSync(base + ".md", md);
      break;
    }
    case 1: {
      let html = `<!doctype html><html><head><title>${title}</title></head><body><nav>Home | About</nav><main>` +
        `<h1>${title}</h1>`;
      paras.forEach((p, j) => (html += (j % 3 === 0 ? `<h2>Part ${j / 3 + 1}</h2>` : "") + `<p>${p}</p>`));
      fs.writeFileSync(base + ".html", html + "</main><footer>footer</footer></body></html>");
      break;
    }
    case 2:
      fs.writeFileSync(base + ".txt", `${title}\n\n${paras.join("\n\n")}\n`);
      break;
    default: {
      // Two or three paragraphs a page.
      const pages = [];
      for (let j = 0; j < paras.length; j += 3) pages.push(paras.slice(j, j + 3).join(" "));
      fs.writeFileSync(base + ".pdf", makePdf(pages));
    }
  }
}
console.log(JSON.stringify({ docs, out }));
