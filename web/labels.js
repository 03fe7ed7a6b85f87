// Relevance labels: thumbs up or down on a search result, saved through POST .../labels as the judgement of the
// result's document for the query (`qembed kb labels export` turns them into BEIR files for `qembed kb eval`).
import { apiPost, collectionPath } from "./api.js";
import { el } from "./dom.js";
import { t } from "./i18n.js";

/** The two buttons for one hit (with .collection set); the chosen one stays marked once saved. */
export function labelButtons(hit, query) {
  const status = el("span", { class: "muted small", "data-label-status": "" });
  const buttons = [true, false].map((relevant) =>
    el("button", {
      type: "button",
      "data-label": relevant ? "relevant" : "not-relevant",
      title: t(relevant ? "labels.relevant" : "labels.notRelevant"),
      "aria-label": t(relevant ? "labels.relevant" : "labels.notRelevant"),
      onclick: () => save(relevant),
    }, relevant ? "✓" : "✗"));  // drawn by every font, where emoji need one
  async function save(relevant) {
    try {
      await apiPost(collectionPath(hit.collection, "/labels"),
        { query, document: hit.document, start: hit.start, end: hit.end, relevant });
      buttons.forEach((b, i) => b.classList.toggle("chosen", (i === 0) === relevant));
      status.textContent = t("labels.saved");
      status.className = "muted small";
    } catch (e) {
      status.textContent = e.message;
      status.className = "error small";
    }
  }
  return el("span", { class: "label-buttons" }, buttons, status);
}
