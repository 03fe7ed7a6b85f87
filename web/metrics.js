// Prometheus text exposition (GET /metrics) parsed into samples, and what the server page derives from two
// snapshots: rates of counters, and quantiles of the requests that finished between them (histogram buckets).

/** Parses the text format: [{name, labels: {k: v}, value}]. Comments and malformed lines are skipped. */
export function parsePrometheus(text) {
  const samples = [];
  const line = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
  const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (const raw of text.split("\n")) {
    if (!raw || raw.startsWith("#")) continue;
    const m = raw.match(line);
    if (!m) continue;
    const labels = {};
    for (const [, k, v] of (m[2] || "").matchAll(label)) labels[k] = v.replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
    const value = m[3] === "+Inf" ? Infinity : Number(m[3]);
    if (!Number.isNaN(value)) samples.push({ name: m[1], labels, value });
  }
  return samples;
}

/** The sum of a metric's samples whose labels pass `keep`. */
export function sum(samples, name, keep = () => true) {
  return samples.filter((s) => s.name === name && keep(s.labels)).reduce((a, s) => a + s.value, 0);
}

/** Per-second rate of a counter between two snapshots taken `seconds` apart (null when it went backwards). */
export function rate(before, after, name, seconds, keep) {
  const d = sum(after, name, keep) - sum(before, name, keep);
  return d < 0 || seconds <= 0 ? null : d / seconds;
}

/**
 * The q-quantile (0..1) of the observations a histogram gained between two snapshots, interpolated inside its
 * bucket as Prometheus's histogram_quantile does; null when nothing was observed.
 */
export function windowQuantile(before, after, name, q) {
  const buckets = (samples) => {
    const out = new Map();
    for (const s of samples) if (s.name === `${name}_bucket`) out.set(Number(s.labels.le), (out.get(Number(s.labels.le)) || 0) + s.value);
    return out;
  };
  const a = buckets(before);
  const b = buckets(after);
  const bounds = [...b.keys()].sort((x, y) => x - y);
  const counts = bounds.map((le) => b.get(le) - (a.get(le) || 0));
  const total = counts.at(-1);
  if (!total || total <= 0) return null;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (let i = 0; i < bounds.length; ++i) {
    if (counts[i] >= rank) {
      const upper = bounds[i] === Infinity ? lower : bounds[i];
      const inBucket = counts[i] - below;
      return inBucket > 0 ? lower + (upper - lower) * ((rank - below) / inBucket) : upper;
    }
    lower = bounds[i];
    below = counts[i];
  }
  return lower;
}
