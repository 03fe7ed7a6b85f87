// A small line chart in SVG (no library: a few series of at most a few hundred points, redrawn every poll).
import { el } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 320;
const HEIGHT = 110;

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

/**
 * A chart card: title, the latest value of the first series, and one polyline per series ([number | null]; null
 * leaves a gap). `format` prints values.
 */
export function lineChart(title, series, format = (v) => v.toFixed(1), id = "") {
  const values = series.flatMap((s) => s.points).filter((v) => v !== null && Number.isFinite(v));
  const max = Math.max(1e-9, ...values) * 1.1;
  const n = Math.max(2, ...series.map((s) => s.points.length));
  const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, preserveAspectRatio: "none", role: "img" });
  chart.append(svg("line", { class: "axis", x1: 0, y1: HEIGHT - 1, x2: WIDTH, y2: HEIGHT - 1 }));
  const top = svg("text", { x: 2, y: 10 });
  top.textContent = format(max);
  chart.append(top);
  series.forEach((s, index) => {
    let path = "";
    s.points.forEach((v, i) => {
      if (v === null || !Number.isFinite(v)) return;
      const x = (i / (n - 1)) * WIDTH;
      const y = HEIGHT - 2 - (v / max) * (HEIGHT - 14);
      path += `${path && s.points[i - 1] !== null ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)} `;
    });
    if (path) chart.append(svg("path", { class: `line${index ? " second" : ""}`, d: path }));
  });
  const latest = series[0].points.filter((v) => v !== null).at(-1);
  return el("div", { class: "panel chart", "data-chart": id },
    el("div", { class: "row spread" }, el("strong", {}, title),
      el("span", { class: "value" }, latest === undefined ? "—" : format(latest))),
    series.length > 1 ? el("div", { class: "muted small" }, series.map((s, i) =>
      el("span", { class: i ? "legend-second" : "" }, `${i ? " · " : ""}${s.name}`))) : null,
    chart);
}
