// Server page: the model and the hardware (/info: SIMD path, threads, memory bound) and live charts from /metrics,
// polled every two seconds: requests/s, tokens/s, queue depth, latency p50/p99, prefix-cache hits, ingestion.
import { apiGet } from "./api.js";
import { lineChart } from "./charts.js";
import { el, formatBytes, setChildren } from "./dom.js";
import { t } from "./i18n.js";
import { parsePrometheus, rate, sum, windowQuantile } from "./metrics.js";

const POLL_MS = 2000;
const HISTORY = 90;  // three minutes of points

export function render(view, context) {
  const facts = el("section", { class: "panel" });
  const charts = el("div", { class: "grid-cards" });
  const error = el("p", { class: "error", hidden: true });
  const history = { requests: [], tokens: [], queue: [], p50: [], p99: [], prefixHits: [], prefixMisses: [], jobs: [], kbTokens: [] };
  let previous = null;
  let timer = null;
  let alive = true;

  renderFacts(facts, context.info);

  function push(key, value) {
    history[key].push(value);
    if (history[key].length > HISTORY) history[key].shift();
  }

  async function poll() {
    let text;
    try {
      text = await apiGet("/metrics");
      error.hidden = true;
    } catch (e) {
      error.hidden = false;
      error.textContent = e.message;
    }
    if (!alive) return;
    if (typeof text === "string") {
      const now = { at: performance.now(), samples: parsePrometheus(text) };
      if (previous) {
        const s = (now.at - previous.at) / 1000;
        const a = previous.samples;
        const b = now.samples;
        // This page's own polling is not traffic.
        push("requests", rate(a, b, "qembed_requests_total", s, (l) => l.endpoint !== "/metrics"));
        push("tokens", rate(a, b, "qembed_tokens_total", s));
        push("queue", sum(b, "qembed_queue_size"));
        push("p50", ms(windowQuantile(a, b, "qembed_request_duration_seconds", 0.5)));
        push("p99", ms(windowQuantile(a, b, "qembed_request_duration_seconds", 0.99)));
        push("prefixHits", rate(a, b, "qembed_prefix_cache_hits_total", s));
        push("prefixMisses", rate(a, b, "qembed_prefix_cache_misses_total", s));
        push("jobs", sum(b, "qembed_kb_jobs", (l) => l.state !== "done"));
        push("kbTokens", rate(a, b, "qembed_kb_ingested_tokens_total", s));
      }
      previous = now;
      renderCharts();
    }
    timer = setTimeout(poll, POLL_MS);
  }

  function renderCharts() {
    const perSecond = (v) => v.toFixed(v < 10 ? 2 : 0);
    const msText = (v) => `${v.toFixed(v < 10 ? 2 : 0)} ms`;
    setChildren(
      charts,
      lineChart(t("server.requests"), [{ name: "", points: history.requests }], perSecond, "requests"),
      lineChart(t("server.tokens"), [{ name: "", points: history.tokens }], perSecond, "tokens"),
      lineChart(t("server.queue"), [{ name: "", points: history.queue }], (v) => v.toFixed(0), "queue"),
      lineChart(t("server.latency"), [{ name: "p50", points: history.p50 }, { name: "p99", points: history.p99 }], msText, "latency"),
      lineChart(t("server.prefixCache"), [{ name: t("server.hits"), points: history.prefixHits },
        { name: t("server.misses"), points: history.prefixMisses }], perSecond, "prefix-cache"),
      lineChart(t("server.ingestion"), [{ name: t("server.jobs"), points: history.jobs },
        { name: t("server.ingestTokens"), points: history.kbTokens }], perSecond, "ingestion"),
    );
  }

  view.append(el("h1", {}, t("nav.server")), facts, error, el("h2", { class: "charts-title" }, t("server.live")), charts);
  renderCharts();
  poll();
  return () => {
    alive = false;
    clearTimeout(timer);
  };
}

const ms = (seconds) => (seconds === null ? null : seconds * 1000);

function renderFacts(box, info) {
  if (!info) {
    setChildren(box, el("p", { class: "muted" }, t("server.noInfo")));
    return;
  }
  const rows = [
    ["server.model", info.model_id],
    ["server.dtype", info.model_dtype],
    ["server.dimensions", info.embedding_dimensions],
    ["server.maxInput", info.max_input_length],
    ["server.backend", info.backend?.name],
    ["server.simd", info.backend?.numeric_path],
    ["server.threads", info.backend?.threads],
    ["server.memoryBound", info.memory_bound_bytes ? formatBytes(info.memory_bound_bytes) : "—"],
    ["server.maxBatchTokens", info.max_batch_tokens],
    ["server.version", info.version],
  ];
  setChildren(box, el("dl", { class: "facts" }, rows.map(([k, v]) => [el("dt", {}, t(k)), el("dd", { "data-fact": k }, v ?? "—")])));
}
