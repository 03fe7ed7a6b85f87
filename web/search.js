// Search page: a query over one or several collections (hybrid, vector or keyword; top-k), results as passages with
// the query's words highlighted and a citation (document, page, section, score); opening a result shows the passage
// in its place in the document's text. Thumbs up/down save a relevance label (labels.js). With a reranker on the
// server (GET /v1/models lists a model whose role is "reranker") the Rerank toggle has the server rescore the
// candidates; it starts checked when every chosen collection reranks by default.
import { apiGet, apiPost, collectionPath } from "./api.js";
import { el, setChildren } from "./dom.js";
import { t } from "./i18n.js";
import { labelButtons } from "./labels.js";

const MODES = ["hybrid", "vector", "keyword"];

export function render(view, context) {
  const collectionsBox = el("fieldset", { class: "collections-pick" }, el("legend", {}, t("search.collections")));
  const queryInput = el("input", { type: "search", name: "query", required: true, autocomplete: "off",
    placeholder: t("search.placeholder") });
  // The demo model's vectors carry no meaning: keyword search is the one that finds anything.
  const modeSelect = el("select", { name: "mode" }, MODES.map((m) =>
    el("option", { value: m, selected: m === (context.synthetic ? "keyword" : "hybrid") }, t(`search.mode.${m}`))));
  const topK = el("input", { type: "number", name: "top_k", min: 1, max: 100, value: 10 });
  // Disabled until GET /v1/models says the server has a reranker (a missing role: it has none).
  const rerankBox = el("input", { type: "checkbox", name: "rerank", disabled: true });
  const rerankLabel = el("label", { class: "check", title: t("search.rerankUnavailable"), "data-field": "rerank" },
    rerankBox, t("search.rerank"));
  let hasReranker = false;
  const collectionDefaults = new Map();  // name -> the collection reranks by default
  function syncRerankDefault() {
    const names = [...collectionsBox.querySelectorAll("input:checked")].map((i) => i.value);
    rerankBox.checked = hasReranker && names.length > 0 && names.every((n) => collectionDefaults.get(n) === true);
  }
  const results = el("div", { class: "results" });
  const viewer = el("section", { class: "panel viewer", hidden: true });
  const form = el(
    "form",
    { class: "search-form", "data-form": "search" },
    collectionsBox,
    el("div", { class: "row" },
      queryInput,
      el("label", {}, t("search.mode"), modeSelect),
      el("label", {}, t("search.topK"), topK),
      rerankLabel,
      el("button", { type: "submit", class: "primary" }, t("search.submit"))),
  );
  if (context.synthetic) form.append(el("p", { class: "muted" }, t("search.syntheticNote")));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const names = [...collectionsBox.querySelectorAll("input:checked")].map((i) => i.value);
    if (names.length === 0) {
      setChildren(results, el("p", { class: "error" }, t("search.pickCollection")));
      return;
    }
    const query = queryInput.value.trim();
    // Always said: a collection that reranks by default cannot be searched without a reranker otherwise.
    const body = { query, mode: modeSelect.value, top_k: Number(topK.value) || 10, rerank: hasReranker && rerankBox.checked };
    setChildren(results, el("p", { class: "muted" }, t("search.searching")));
    try {
      const answers = await Promise.all(names.map((n) => apiPost(collectionPath(n, "/search"), body)));
      // One list over every collection, best first: the same mode scores alike across collections, and the
      // reranker's probabilities are absolute, so reranked lists merge by them (reranking after the merge).
      const hits = answers.flatMap((a, i) => a.hits.map((h) => ({ ...h, collection: names[i] })));
      if (body.rerank) hits.sort((a, b) => (b.rerank_score ?? 0) - (a.rerank_score ?? 0));
      else hits.sort((a, b) => b.score - a.score);
      renderHits(hits.slice(0, body.top_k), query, body.mode, answers);
    } catch (e) {
      setChildren(results, el("p", { class: "error" }, e.message));
    }
  });

  function renderHits(hits, query, mode, answers) {
    const ms = Math.max(...answers.map((a) => a.timings?.total_ms ?? 0));
    if (hits.length === 0) {
      setChildren(results, el("p", { class: "muted" }, t("search.noResults")));
      return;
    }
    setChildren(
      results,
      el("p", { class: "muted" }, t("search.summary", { n: hits.length, ms: ms.toFixed(1) })),
      el("ol", { class: "hit-list" }, hits.map((h) =>
        el(
          "li",
          { class: "hit", "data-document": h.document },
          el("div", { class: "hit-text" }, highlighted(h.text, h.highlights)),
          el(
            "div",
            { class: "hit-meta" },
            el("cite", { class: "citation" }, citation(h)),
            el("span", { class: "score", title: t("search.scoreTitle", { mode }) }, t("search.score", { s: h.score.toFixed(4) })),
            h.rerank_score === undefined ? null
              : el("span", { class: "score rerank-score", title: t("search.rerankScoreTitle", { rank: h.retrieval_rank }) },
                t("search.rerankScore", { s: h.rerank_score.toFixed(4) })),
            el("button", { type: "button", class: "link-button", "data-action": "open", onclick: () => openHit(h) }, t("search.open")),
            labelButtons(h, query),
          ),
        ))),
    );
  }

  async function openHit(h) {
    viewer.hidden = false;
    setChildren(viewer, el("p", { class: "muted" }, t("search.loading")));
    try {
      const doc = await apiGet(collectionPath(h.collection, `/documents/${h.document_id}/text`));
      const chars = Array.from(doc.text);  // start/end count code points
      const passage = el("mark", { class: "passage" }, chars.slice(h.start, h.end).join(""));
      setChildren(
        viewer,
        el("div", { class: "row spread" },
          el("h2", {}, doc.name),
          el("button", { type: "button", class: "link-button", onclick: () => (viewer.hidden = true) }, t("search.close"))),
        el("p", { class: "muted" }, citation(h)),
        el("pre", { class: "document-text" }, chars.slice(0, h.start).join(""), passage, chars.slice(h.end).join("")),
      );
      // Scrolls the viewer alone (scrollIntoView would scroll the page too): the passage a third of the way down.
      viewer.scrollTop = Math.max(0, passage.offsetTop - viewer.clientHeight / 3);
    } catch (e) {
      setChildren(viewer, el("p", { class: "error" }, e.message));
    }
  }

  view.append(el("h1", {}, t("nav.search")), form, el("div", { class: "search-body" }, results, viewer));

  apiGet("/v1/kb/collections").then(
    (list) => {
      if (list.data.length === 0) collectionsBox.append(el("p", { class: "muted" }, t("knowledge.noCollections")));
      list.data.forEach((c, i) => {
        collectionDefaults.set(c.name, c.rerank === true);
        collectionsBox.append(el("label", { class: "check" },
          el("input", { type: "checkbox", value: c.name, checked: i === 0, onchange: syncRerankDefault }), c.name));
      });
      syncRerankDefault();
    },
    (e) => collectionsBox.append(el("p", { class: "error" }, e.message)),
  );
  apiGet("/v1/models").then(
    (models) => {
      hasReranker = (models.data ?? []).some((m) => m.role === "reranker");
      rerankBox.disabled = !hasReranker;
      rerankLabel.title = hasReranker ? t("search.rerankTitle") : t("search.rerankUnavailable");
      syncRerankDefault();
    },
    () => {},  // a key that may not list models: no reranker as far as this page knows
  );
}

/** "handbook.pdf · p. 3–4 · Refunds > Timing" */
export function citation(h) {
  const parts = [h.document];
  if (h.page) parts.push(h.page_last ? t("search.pages", { first: h.page, last: h.page_last }) : t("search.page", { n: h.page }));
  if (h.section) parts.push(h.section);
  if (h.collection) parts.push(h.collection);
  return parts.join(" · ");
}

/** The passage with its highlights ([start, end) code points) as <mark>s. */
function highlighted(text, highlights) {
  const chars = Array.from(text);
  const out = [];
  let at = 0;
  for (const [start, end] of [...(highlights || [])].sort((a, b) => a[0] - b[0])) {
    if (start < at) continue;
    out.push(chars.slice(at, start).join(""), el("mark", {}, chars.slice(start, end).join("")));
    at = end;
  }
  out.push(chars.slice(at).join(""));
  return out;
}
