// Documents the knowledge-base tests ingest, written by the tests themselves: a PDF with real pages (exact xref
// offsets), Markdown with sections, HTML with boilerplate, Chinese text, and a corpus of many distinct documents.
import fs from "node:fs";
import path from "node:path";

/** A valid PDF whose page i shows pages[i] (ASCII text, wrapped into lines) in Helvetica. */
export function makePdf(pages) {
  const objects = [];
  const pageIds = pages.map((_, i) => 4 + 2 * i);
  objects[1] = "<< /Type /Catalog /Pages 2 0 R >>";
  objects[2] = `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(" ")}] /Count ${pages.length} >>`;
  objects[3] = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>";
  pages.forEach((text, i) => {
    // Lines of at most ~70 characters, so nothing runs off the page (text outside the page is clipped).
    const lines = [];
    for (const word of text.split(" ")) {
      if (lines.length && lines[lines.length - 1].length + word.length < 70) lines[lines.length - 1] += " " + word;
      else lines.push(word);
    }
    const shown = lines.map((l) => `(${l.replace(/[\\()]/g, (c) => "\\" + c)}) Tj T*`).join(" ");
    const stream = `BT /F1 12 Tf 14 TL 72 720 Td ${shown} ET`;
    objects[pageIds[i]] =
      "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> " +
      `/Contents ${pageIds[i] + 1} 0 R >>`;
    objects[pageIds[i] + 1] = `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`;
  });
  let out = "%PDF-1.4\n";
  const offsets = [];
  for (let id = 1; id < objects.length; id++) {
    offsets[id] = out.length;
    out += `${id} 0 obj\n${objects[id]}\nendobj\n`;
  }
  const xref = out.length;
  out += `xref\n0 ${objects.length}\n0000000000 65535 f \n`;
  for (let id = 1; id < objects.length; id++) out += `${String(offsets[id]).padStart(10, "0")} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, "latin1");
}

export const CONTRACT_MD = `# Supply contract

## Liability

The supplier is liable for any breach of contract, capped at the annual fee.

## Payment

Invoices are payable within thirty days.
`;

export const MANUAL_HTML = `<!doctype html><html><head><title>Engine manual</title><script>var tracking = 1;</script></head>
<body><nav>Home | Products | Contact</nav><main><h1>Starting the engine</h1>
<p>Press the red ignition button for two seconds.</p></main><footer>Copyright footer boilerplate</footer></body></html>`;

export const CHINESE_TXT = "劳动合同法规定了合同条款的内容。\n\n今天天气很好，适合散步。\n";

/** Writes files {relative path: string | Buffer} under dir. */
export function writeTree(dir, files) {
  for (const [rel, content] of Object.entries(files)) {
    const p = path.join(dir, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, content);
  }
}

/** n Markdown documents, each with a unique marker word (`marker<i>`) and enough text for several chunks. */
export function manyDocuments(dir, n, paragraphs = 6) {
  fs.mkdirSync(dir, { recursive: true });
  const words = ["river", "mountain", "ledger", "invoice", "turbine", "harbor", "orchard", "signal", "copper", "meadow"];
  for (let i = 0; i < n; i++) {
    let text = `# Document ${i}\n\n`;
    for (let p = 0; p < paragraphs; p++) {
      const body = [];
      for (let w = 0; w < 60; w++) body.push(words[(i * 7 + p * 3 + w) % words.length]);
      text += `Paragraph ${p} of document ${i} mentions marker${i}. ${body.join(" ")}.\n\n`;
    }
    fs.writeFileSync(path.join(dir, `doc${String(i).padStart(4, "0")}.md`), text);
  }
}
