// Building the page from data without innerHTML: every text from the server (document names, passages, errors) goes
// in as a text node, so nothing a document contains can run as markup.

/**
 * el("div", {class: "x", onclick: f, dataset: {...}}, child, "text", [more]) -> HTMLElement.
 * Attributes starting with "on" are listeners; false/null/undefined attributes and children are skipped.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name === "class") node.className = value;
    else if (value === true) node.setAttribute(name, "");
    else node.setAttribute(name, String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(node, c);
    else node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces a node's children. */
export function setChildren(node, ...children) {
  node.replaceChildren();
  append(node, children);
}

/** A byte count for people: 1.2 MB. */
export function formatBytes(n) {
  if (!Number.isFinite(n)) return "";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    ++i;
  }
  return `${i === 0 ? n : n.toFixed(n < 10 ? 1 : 0)} ${units[i]}`;
}

/** A progress bar: a <progress> (value in [0, 1], or indeterminate when null). */
export function progressBar(value) {
  const bar = el("progress", { max: 1 });
  if (value !== null && value !== undefined) bar.value = value;
  return bar;
}
