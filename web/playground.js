// Playground: several texts, their cosine similarities as a heat map, a dimensions slider (Matryoshka truncation:
// the server keeps the first n dimensions and renormalises) showing how the similarities move as vectors shrink, and
// the exact tokens the model sees (ids and pieces, the query instruction and the EOS the server appends).
import { apiPost } from "./api.js";
import { el, setChildren } from "./dom.js";
import { t } from "./i18n.js";

const DEFAULT_TEXTS = [
  "How long do refunds take?",
  "Refunds are paid within 14 days.",
  "退款需要多长时间？",
];
// Dimensions the slider stops at (Qwen3-Embedding is trained for truncation to any of them), capped by the model.
const MRL_STEPS = [32, 64, 128, 256, 512, 768, 1024, 1536, 2048, 2560, 3072, 4096];

export function render(view, context) {
  const fullDims = context.info?.embedding_dimensions ?? 1024;
  const steps = [...MRL_STEPS.filter((d) => d < fullDims), fullDims];
  const textsBox = el("div", { class: "texts" });
  const asQuery = el("input", { type: "checkbox", name: "as_query" });
  const slider = el("input", { type: "range", name: "dimensions", min: 0, max: steps.length - 1, step: 1, value: steps.length - 1 });
  const dimsLabel = el("strong", { "data-value": "dimensions" });
  const heat = el("div", { class: "heat" });
  const tokens = el("div", { class: "token-view" });
  const error = el("p", { class: "error", hidden: true });
  let fullMatrix = null;

  function addText(value = "") {
    const area = el("textarea", { rows: 2, "data-text": "" });
    area.value = value;
    const row = el("div", { class: "row" }, area,
      el("button", { type: "button", class: "link-button", "aria-label": t("playground.remove"),
        onclick: () => row.remove() }, t("playground.remove")));
    textsBox.append(row);
  }
  DEFAULT_TEXTS.forEach((text) => addText(text));

  const texts = () => [...textsBox.querySelectorAll("textarea")].map((a) => a.value.trim()).filter(Boolean);
  const dims = () => steps[Number(slider.value)];

  async function embed(inputs, dimensions) {
    // TEI's /embed takes the prompt by name: "query" prepends the instruction, documents get none.
    return apiPost("/embed", { inputs, dimensions, normalize: true, prompt_name: asQuery.checked ? "query" : "document" });
  }

  async function compare() {
    const inputs = texts();
    error.hidden = true;
    if (inputs.length < 2) {
      error.hidden = false;
      error.textContent = t("playground.needTwo");
      return;
    }
    try {
      const [full, cut] = await Promise.all([embed(inputs, fullDims), embed(inputs, dims())]);
      fullMatrix = similarities(full);
      renderHeatMap(inputs, similarities(cut), fullMatrix);
      await renderTokens(inputs);
    } catch (e) {
      error.hidden = false;
      error.textContent = e.message;
    }
  }

  function renderHeatMap(inputs, matrix, reference) {
    const head = el("tr", {}, el("th", {}), inputs.map((s, j) => el("th", { title: s }, `${j + 1}. ${s}`)));
    const rows = matrix.map((row, i) =>
      el("tr", {}, el("th", { title: inputs[i] }, `${i + 1}. ${inputs[i]}`), row.map((v, j) => {
        const cell = el("td", { "data-cell": `${i},${j}`, title: t("playground.fullValue", { v: reference[i][j].toFixed(3) }) },
          v.toFixed(3));
        const delta = v - reference[i][j];
        if (i !== j && Math.abs(delta) >= 0.0005) cell.append(el("div", { class: "muted small" }, `${delta > 0 ? "+" : ""}${delta.toFixed(3)}`));
        cell.style.backgroundColor = heatColor(v);
        return cell;
      })));
    setChildren(heat, el("table", { class: "heatmap" }, el("thead", {}, head), el("tbody", {}, rows)),
      el("p", { class: "muted small" }, t("playground.heatHelp", { dims: dims(), full: fullDims })));
  }

  async function renderTokens(inputs) {
    const prompt = asQuery.checked ? "query" : "document";
    const [withPrompt, bare] = await Promise.all([
      apiPost("/tokenize", { inputs, add_special_tokens: true, prompt_name: prompt }),
      apiPost("/tokenize", { inputs, add_special_tokens: false }),
    ]);
    // The tokens before the text's own are the instruction prompt's.
    setChildren(tokens, withPrompt.map((list, i) => {
      const promptCount = Math.max(0, list.filter((x) => !x.special).length - bare[i].length);
      let seen = 0;
      return el("div", { "data-tokens": String(i) },
        el("h3", {}, t("playground.tokensOf", { n: i + 1, count: list.length })),
        el("div", { class: "tokens" }, list.map((tok) => {
          const isPrompt = !tok.special && seen++ < promptCount;
          return el("span", { class: `token${tok.special ? " special" : ""}${isPrompt ? " prompt" : ""}`,
            title: tok.special ? t("playground.special") : isPrompt ? t("playground.prompt") : "" },
            el("span", { class: "piece" }, visible(tok.text)), el("span", { class: "id" }, tok.id));
        })));
    }));
  }

  slider.addEventListener("input", () => {
    dimsLabel.textContent = String(dims());
  });
  slider.addEventListener("change", compare);
  dimsLabel.textContent = String(dims());

  // setChildren skips a null child (Element.append would print "null").
  setChildren(
    view,
    el("h1", {}, t("nav.playground")),
    context.synthetic ? el("p", { class: "muted" }, t("playground.syntheticNote")) : null,
    el("section", { class: "panel" },
      textsBox,
      el("div", { class: "row" },
        el("button", { type: "button", onclick: () => addText("") }, t("playground.addText")),
        el("label", { class: "check" }, asQuery, t("playground.asQuery")),
        el("label", {}, t("playground.dimensions"), el("div", { class: "row" }, slider, dimsLabel)),
        el("button", { type: "button", class: "primary", "data-action": "compare", onclick: compare }, t("playground.compare"))),
      error),
    el("section", { class: "panel" }, el("h2", {}, t("playground.similarity")), heat),
    el("section", { class: "panel" }, el("h2", {}, t("playground.tokens")),
      el("p", { class: "muted small" }, t("playground.tokensHelp")), tokens),
  );
}

/** Cosine similarities of unit vectors: their dot products. */
function similarities(vectors) {
  return vectors.map((a) => vectors.map((b) => a.reduce((s, x, k) => s + x * b[k], 0)));
}

/** White (0 or below) to deep blue (1). */
function heatColor(v) {
  const x = Math.max(0, Math.min(1, v));
  const mix = (from, to) => Math.round(from + (to - from) * x);
  return `rgb(${mix(255, 47)}, ${mix(255, 93)}, ${mix(255, 216)})`;
}

/** Whitespace shown as the model's pieces carry it. */
function visible(piece) {
  return piece.replace(/ /g, "␣").replace(/\n/g, "⏎");
}
