// Knowledge page: collections (list, create with chunking and vector settings, delete), drag-and-drop uploads of
// many files with a progress bar per file and per upload, and the documents of a collection, a page at a time.
import { apiDelete, apiGet, apiPost, collectionPath, uploadFiles } from "./api.js";
import { el, formatBytes, progressBar, setChildren } from "./dom.js";
import { t } from "./i18n.js";

const DOCUMENTS_PER_PAGE = 50;
// The server takes at most --max-upload-files files a request (100 by default): larger drops go in several.
const FILES_PER_UPLOAD = 50;
const JOB_POLL_MS = 400;

export function render(view, context) {
  const state = {
    collections: [],
    selected: null,  // collection name
    status: "",  // documents filter
    pageCursors: [0],  // the `after` of each page seen so far: Previous pops one
    alive: true,
  };
  const listBox = el("div", { class: "collection-list" });
  const detail = el("section", { class: "panel detail" });
  const message = el("p", { class: "error", hidden: true });

  async function refreshCollections() {
    try {
      state.collections = (await apiGet("/v1/kb/collections")).data;
      message.hidden = true;
    } catch (e) {
      message.hidden = false;
      message.textContent = e.message;
      return;
    }
    if (!state.collections.some((c) => c.name === state.selected)) state.selected = state.collections[0]?.name ?? null;
    renderCollectionList();
  }

  function renderCollectionList() {
    if (state.collections.length === 0) {
      setChildren(listBox, el("p", { class: "muted" }, t("knowledge.noCollections")));
    } else {
      setChildren(
        listBox,
        state.collections.map((c) =>
          el(
            "button",
            {
              type: "button",
              class: `collection-item${c.name === state.selected ? " active" : ""}`,
              "data-collection": c.name,
              onclick: () => select(c.name),
            },
            el("strong", {}, c.name),
            el("span", { class: "muted" }, t("knowledge.counts", c.documents)),
          ),
        ),
      );
    }
    renderDetail();
  }

  function select(name) {
    state.selected = name;
    state.pageCursors = [0];
    renderCollectionList();
  }

  const createForm = buildCreateForm(context, async (name) => {
    await refreshCollections();
    select(name);
  });

  // --- the selected collection

  const uploads = el("div", { class: "uploads" });
  const documentsBox = el("div", { class: "documents" });

  function renderDetail() {
    const c = state.collections.find((x) => x.name === state.selected);
    if (!c) {
      setChildren(detail, el("p", { class: "muted" }, t("knowledge.selectOrCreate")));
      return;
    }
    const settings = t("knowledge.settings", {
      dims: c.dimensions,
      type: c.vector_type,
      chunk: c.chunk_tokens,
      overlap: c.chunk_overlap,
    }) + (c.rerank ? ` · ${t("knowledge.reranks")}` : "");
    setChildren(
      detail,
      el(
        "div",
        { class: "detail-head" },
        el("h2", {}, c.name),
        el("button", { type: "button", class: "danger", "data-action": "delete-collection", onclick: () => deleteCollection(c) },
          t("knowledge.deleteCollection")),
      ),
      el("p", { class: "muted" }, settings, c.model_matches ? "" : ` — ${t("knowledge.otherModel")}`),
      buildReindex(c),
      buildDropZone((files) => upload(c.name, files)),
      uploads,
      documentsBox,
    );
    loadDocuments();
  }

  // Re-embedding with the loaded model: offered when the collection was built with another one (it cannot be
  // searched by vector until then); progress from the collection's "reindex" field.
  function buildReindex(c) {
    const status = el("span", { class: "muted", "data-role": "reindex-status" });
    const box = el("div", { class: "reindex" });
    const running = c.reindex && c.reindex.state === "running";
    if (!c.model_matches || running) {
      box.append(el("button", { type: "button", "data-action": "reindex", disabled: running ? "" : undefined,
        onclick: () => startReindex(c, status) }, t("knowledge.reindex")), " ", status);
    }
    if (c.reindex) showReindex(c.reindex, status);
    if (running) followReindex(c.name, status);
    return box;
  }

  function showReindex(r, status) {
    if (r.state === "running") setChildren(status, t("knowledge.reindexing", { n: r.done, m: r.total || "…" }));
    else if (r.state === "failed") setChildren(status, t("knowledge.reindexFailed", { error: r.error || "" }));
    else setChildren(status, t("knowledge.reindexDone"));
  }

  async function startReindex(c, status) {
    try {
      const answer = await apiPost(collectionPath(c.name, "/reindex"), {});
      showReindex(answer.reindex, status);
      await followReindex(c.name, status);
    } catch (e) {
      setChildren(status, e.message);
    }
  }

  async function followReindex(name, status) {
    for (;;) {
      await new Promise((r) => setTimeout(r, JOB_POLL_MS));
      if (!state.alive || state.selected !== name) return;
      const c = await apiGet(collectionPath(name));
      if (!c.reindex) return;
      showReindex(c.reindex, status);
      if (c.reindex.state !== "running") {
        await refreshCollections();
        return;
      }
    }
  }

  async function deleteCollection(c) {
    if (!confirm(t("knowledge.confirmDeleteCollection", { name: c.name }))) return;
    try {
      await apiDelete(collectionPath(c.name));
    } catch (e) {
      alert(e.message);
    }
    await refreshCollections();
  }

  // --- documents, a page at a time (collections of tens of thousands of documents exist)

  async function loadDocuments() {
    const name = state.selected;
    const after = state.pageCursors[state.pageCursors.length - 1];
    const query = new URLSearchParams({ limit: String(DOCUMENTS_PER_PAGE) });
    if (after) query.set("after", String(after));
    if (state.status) query.set("status", state.status);
    let page;
    try {
      page = await apiGet(collectionPath(name, `/documents?${query}`));
    } catch (e) {
      setChildren(documentsBox, el("p", { class: "error" }, e.message));
      return;
    }
    if (name !== state.selected || !state.alive) return;
    renderDocuments(page);
  }

  function renderDocuments(page) {
    const statusSelect = el(
      "select",
      {
        "aria-label": t("knowledge.filterStatus"),
        onchange: (e) => {
          state.status = e.target.value;
          state.pageCursors = [0];
          loadDocuments();
        },
      },
      ["", "pending", "indexed", "failed"].map((s) =>
        el("option", { value: s, selected: s === state.status }, s ? t(`status.${s}`) : t("knowledge.allStatuses")),
      ),
    );
    const rows = page.data.map((d) =>
      el(
        "tr",
        { "data-document": d.name },
        el("td", {}, d.name),
        el("td", {}, el("span", { class: `status status-${d.status}`, title: d.error || "" }, t(`status.${d.status}`)),
          d.error ? el("div", { class: "error small" }, d.error) : null),
        el("td", { class: "num" }, d.pages || "—"),
        el("td", { class: "num" }, d.chunks),
        el("td", { class: "num" }, formatBytes(d.size_bytes)),
        el("td", {}, el("button", { type: "button", class: "link-button", "data-action": "delete-document",
          onclick: () => deleteDocument(d) }, t("knowledge.delete"))),
      ),
    );
    const pageNumber = state.pageCursors.length;
    setChildren(
      documentsBox,
      el("div", { class: "row spread" }, el("h3", {}, t("knowledge.documents")), statusSelect),
      page.data.length === 0
        ? el("p", { class: "muted" }, t("knowledge.noDocuments"))
        : el(
            "table",
            { class: "table" },
            el("thead", {}, el("tr", {}, ["name", "status", "pages", "chunks", "size", "actions"].map((h) =>
              el("th", { class: ["pages", "chunks", "size"].includes(h) ? "num" : "" }, t(`knowledge.column.${h}`))))),
            el("tbody", {}, rows),
          ),
      el(
        "div",
        { class: "row pager" },
        el("button", { type: "button", disabled: pageNumber === 1, onclick: () => {
          state.pageCursors.pop();
          loadDocuments();
        } }, t("pager.previous")),
        el("span", { class: "muted" }, t("pager.page", { n: pageNumber })),
        el("button", { type: "button", disabled: !page.has_more, onclick: () => {
          state.pageCursors.push(page.next_after);
          loadDocuments();
        } }, t("pager.next")),
      ),
    );
  }

  async function deleteDocument(d) {
    if (!confirm(t("knowledge.confirmDeleteDocument", { name: d.name }))) return;
    try {
      await apiDelete(collectionPath(state.selected, `/documents/${d.document_id}`));
    } catch (e) {
      alert(e.message);
    }
    await refreshCollections();
  }

  // --- uploads: one card per drop, one row per file

  async function upload(collection, files) {
    for (let i = 0; i < files.length; i += FILES_PER_UPLOAD) {
      await uploadBatch(collection, files.slice(i, i + FILES_PER_UPLOAD));
    }
    if (state.alive) await refreshCollections();
  }

  async function uploadBatch(collection, files) {
    const total = el("div", { class: "upload-total" });
    const fileRows = files.map((f) => ({ file: f, bar: progressBar(0), label: el("span", { class: "muted" }, t("upload.uploading")) }));
    const card = el(
      "div",
      { class: "upload-card" },
      total,
      el("ul", { class: "upload-files" }, fileRows.map((r) =>
        el("li", { "data-file": r.file.name }, el("span", { class: "file-name" }, r.file.name), r.bar, r.label))),
    );
    uploads.prepend(card);
    const setTotal = (fraction, text) => setChildren(total, el("strong", {}, collection), progressBar(fraction), el("span", {}, text));
    setTotal(0, t("upload.sending", { n: files.length }));

    // Upload progress in bytes, spread over the files in the order they travel.
    const offsets = [];
    let sum = 0;
    for (const f of files) {
      offsets.push(sum);
      sum += f.size;
    }
    let answer;
    try {
      answer = await uploadFiles(collection, files, (loaded, totalBytes) => {
        const scale = totalBytes > 0 ? sum / totalBytes : 1;
        fileRows.forEach((r, i) => {
          const done = Math.min(1, Math.max(0, (loaded * scale - offsets[i]) / Math.max(1, r.file.size)));
          r.bar.value = done;
        });
        setTotal(loaded / Math.max(1, totalBytes) * 0.5, t("upload.sending", { n: files.length }));
      });
    } catch (e) {
      setTotal(0, e.message);
      total.classList.add("error");
      for (const r of fileRows) showOutcome(r, { status: "failed", error: e.message });
      return;
    }
    answer.documents.forEach((d, i) => fileRows[i] && showOutcome(fileRows[i], d));
    await followJob(answer.job, fileRows, setTotal);
  }

  async function followJob(job, fileRows, setTotal) {
    for (;;) {
      setTotal(0.5 + 0.5 * job.progress, t("upload.progress", {
        finished: job.finished, total: job.total, indexed: job.indexed, failed: job.failed }));
      (job.documents || []).forEach((d, i) => fileRows[i] && showOutcome(fileRows[i], d));
      if (job.state === "done" || !state.alive) return;
      await new Promise((r) => setTimeout(r, JOB_POLL_MS));
      try {
        job = await apiGet(`/v1/kb/jobs/${job.id}`);
      } catch (e) {
        setTotal(null, e.message);
        return;
      }
      if (job.state === "done") loadDocuments();
    }
  }

  function showOutcome(row, d) {
    const final = d.status !== "pending";
    const embedding = d.phase === "embedding" && d.chunks > 0;
    if (final) row.bar.value = 1;
    else if (embedding) row.bar.value = d.embedded / d.chunks;
    else row.bar.removeAttribute("value");  // indeterminate: queued, extracting, chunking or committing
    let text;
    if (final) text = t(`status.${d.status}`);
    else if (embedding) text = t("phase.embedding", { n: d.embedded, m: d.chunks });
    else text = d.phase ? t(`phase.${d.phase}`) : t("upload.processing");
    if (embedding) d = { ...d, chunks: 0 };  // n/m already says how many chunks
    setChildren(row.label, text, d.chunks ? ` · ${t("upload.chunks", { n: d.chunks })}` : "", d.error ? ` — ${d.error}` : "");
    row.label.className = `status-${d.status}`;
    row.label.parentElement?.setAttribute("data-status", d.status);
  }

  view.append(
    el("h1", {}, t("nav.knowledge")),
    message,
    el("div", { class: "two-columns" },
      el("aside", { class: "panel" }, el("h2", {}, t("knowledge.collections")), listBox, createForm),
      detail),
  );
  refreshCollections();
  return () => {
    state.alive = false;
  };
}

function buildCreateForm(context, onCreated) {
  const error = el("p", { class: "error", hidden: true });
  const input = (name, attrs) => el("input", { name, ...attrs });
  const form = el(
    "form",
    { class: "create-form", "data-form": "create-collection" },
    el("h3", {}, t("knowledge.newCollection")),
    el("label", {}, t("knowledge.name"), input("name", { required: true, maxlength: 128, autocomplete: "off" })),
    el("label", {}, t("knowledge.dimensions"),
      input("dimensions", { type: "number", min: 1, max: context.info?.embedding_dimensions ?? undefined,
        placeholder: String(context.info?.embedding_dimensions ?? "") })),
    el("label", {}, t("knowledge.chunkTokens"), input("chunk_tokens", { type: "number", min: 16, placeholder: "512" })),
    el("label", {}, t("knowledge.chunkOverlap"), input("chunk_overlap", { type: "number", min: 0, placeholder: "64" })),
    el("label", {}, t("knowledge.vectorType"),
      el("select", { name: "vector_type" }, ["f32", "f16", "int8"].map((v) => el("option", { value: v }, v)))),
    el("label", { class: "check", title: t("knowledge.rerankTitle") },
      input("rerank", { type: "checkbox", value: "1" }), t("knowledge.rerank")),
    error,
    el("button", { type: "submit", class: "primary" }, t("knowledge.create")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const body = { name: data.get("name").trim(), vector_type: data.get("vector_type"), rerank: data.has("rerank") };
    for (const field of ["dimensions", "chunk_tokens", "chunk_overlap"]) {
      if (data.get(field) !== "") body[field] = Number(data.get(field));
    }
    try {
      await apiPost("/v1/kb/collections", body);
      error.hidden = true;
      form.reset();
      await onCreated(body.name);
    } catch (e) {
      error.hidden = false;
      error.textContent = e.message;
    }
  });
  return form;
}

function buildDropZone(onFiles) {
  const picker = el("input", { type: "file", multiple: true, hidden: true, "data-input": "files" });
  const zone = el(
    "div",
    { class: "drop-zone", tabindex: 0, role: "button", "data-drop": "files" },
    el("p", {}, t("upload.drop")),
    el("button", { type: "button", onclick: () => picker.click() }, t("upload.choose")),
    picker,
  );
  picker.addEventListener("change", () => {
    if (picker.files.length) onFiles([...picker.files]);
    picker.value = "";
  });
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("dragging");
    const files = [...(e.dataTransfer?.files ?? [])];
    if (files.length) onFiles(files);
  });
  return zone;
}
