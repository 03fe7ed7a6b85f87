// Every string the UI shows, in English and Simplified Chinese. The language comes from localStorage (the header's
// switch) or else the browser's; t(key, params) fills {name} placeholders. Static markup names its strings with
// data-i18n (text) and data-i18n-placeholder. tests/web/i18n.test.mjs walks every page in Chinese and fails on any
// visible English string of this table.
import { STRINGS_EN } from "./strings_en.js";
import { STRINGS_ZH } from "./strings_zh.js";

export const LANGUAGES = { en: "English", "zh-CN": "简体中文" };
const TABLES = { en: STRINGS_EN, "zh-CN": STRINGS_ZH };
const STORAGE = "qembed.language";

let language = pickLanguage();

function pickLanguage() {
  const saved = localStorage.getItem(STORAGE);
  if (saved && TABLES[saved]) return saved;
  const browser = (navigator.languages?.[0] || navigator.language || "en").toLowerCase();
  return browser.startsWith("zh") ? "zh-CN" : "en";
}

export function currentLanguage() {
  return language;
}

export function setLanguage(code) {
  if (!TABLES[code]) return;
  language = code;
  localStorage.setItem(STORAGE, code);
  document.documentElement.lang = code;
}

/** The string for `key` in the current language (English when missing), with {name} placeholders filled. */
export function t(key, params = {}) {
  const template = TABLES[language][key] ?? STRINGS_EN[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

/** Fills the elements that name their strings (data-i18n, data-i18n-placeholder). */
export function applyStaticStrings(root) {
  document.documentElement.lang = language;
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll("[data-i18n-placeholder]")) node.placeholder = t(node.dataset.i18nPlaceholder);
}
