// The shell: header navigation, language, the API key prompt, and the page router (#/knowledge, #/search,
// #/playground, #/server). Which pages show depends on what the key may do (GET /v1/whoami): a `search` key sees
// Search only, an `embed` key also Knowledge and the Playground, an `admin` key (or no keys configured) everything.
import { apiGet, ApiError, apiKey, setApiKey } from "./api.js";
import { el, setChildren } from "./dom.js";
import { applyStaticStrings, currentLanguage, LANGUAGES, setLanguage, t } from "./i18n.js";
import * as knowledge from "./knowledge.js";
import * as playground from "./playground.js";
import * as search from "./search.js";
import * as server from "./server.js";

// Page: the roles that may open it, whether it needs the knowledge base, its module.
const PAGES = [
  { id: "knowledge", roles: ["admin", "embed"], needsKb: true, module: knowledge },
  { id: "search", roles: ["admin", "embed", "search"], needsKb: true, module: search },
  { id: "playground", roles: ["admin", "embed"], needsKb: false, module: playground },
  { id: "server", roles: ["admin"], needsKb: false, module: server },
];

/** What every page may read: the session (roles, knowledge base) and the model (/info; null before it loads). */
const context = { session: null, info: null, synthetic: false };
let leavePage = null;  // the open page's clean-up (timers)

function allowedPages() {
  const s = context.session;
  if (!s || !s.authenticated) return [];
  return PAGES.filter((p) => p.roles.some((r) => s.roles.includes(r)) && (!p.needsKb || s.knowledge_base));
}

function renderNav() {
  const current = currentPageId();
  setChildren(
    document.getElementById("nav"),
    allowedPages().map((p) =>
      el("a", { href: `#/${p.id}`, class: p.id === current ? "active" : "", "data-page": p.id }, t(`nav.${p.id}`)),
    ),
  );
  const keyButton = document.getElementById("key-button");
  keyButton.hidden = !context.session?.keys_required;
  keyButton.textContent = apiKey() ? t("key.forget") : t("key.enter");
}

function currentPageId() {
  const id = location.hash.replace(/^#\/?/, "").split("/")[0];
  const pages = allowedPages();
  return pages.some((p) => p.id === id) ? id : pages[0]?.id;
}

function showBanner() {
  const banner = document.getElementById("banner");
  const lines = [];
  if (context.synthetic) lines.push(t("banner.synthetic"));
  if (context.session && !context.session.knowledge_base) lines.push(t("banner.noKb"));
  banner.hidden = lines.length === 0;
  setChildren(banner, lines.map((l) => el("p", {}, l)));
}

function renderPage() {
  if (leavePage) leavePage();
  leavePage = null;
  renderNav();
  showBanner();
  const view = document.getElementById("view");
  const id = currentPageId();
  const page = PAGES.find((p) => p.id === id);
  if (!page) {
    setChildren(view, el("p", { class: "muted" }, context.session?.keys_required ? t("key.needed") : t("app.nothing")));
    return;
  }
  view.replaceChildren();
  leavePage = page.module.render(view, context) || null;
}

async function loadSession() {
  context.session = await apiGet("/v1/whoami");
  context.info = null;
  if (context.session.authenticated) {
    try {
      context.info = await apiGet("/info");
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
    }
  }
  // The demo model's weights are random: its vectors carry no meaning (tools/make_model.cpp names it SYNTHETIC).
  context.synthetic = /synthetic/i.test(`${context.info?.model_id ?? ""} ${context.info?.model_path ?? ""}`);
}

function askForKey(message) {
  const dialog = document.getElementById("key-dialog");
  const error = document.getElementById("key-error");
  error.hidden = !message;
  error.textContent = message || "";
  document.getElementById("key-input").value = "";
  if (!dialog.open) dialog.showModal();
}

async function start() {
  await loadSession();
  if (context.session.keys_required && !context.session.authenticated) askForKey(apiKey() ? t("key.invalid") : "");
  renderPage();
}

function setUpHeader() {
  const select = document.getElementById("lang-select");
  for (const [code, name] of Object.entries(LANGUAGES)) select.append(el("option", { value: code }, name));
  select.value = currentLanguage();
  select.addEventListener("change", () => {
    setLanguage(select.value);
    applyStaticStrings(document);
    renderPage();
  });
  document.getElementById("key-button").addEventListener("click", async () => {
    if (apiKey()) {
      setApiKey("");
      await start();
    } else {
      askForKey("");
    }
  });
  document.getElementById("key-form").addEventListener("submit", async (event) => {
    event.preventDefault();  // the dialog closes only once the key is known to work
    setApiKey(document.getElementById("key-input").value.trim());
    await loadSession();
    if (!context.session.authenticated) {
      askForKey(t("key.invalid"));
      return;
    }
    document.getElementById("key-dialog").close();
    renderPage();
  });
  window.addEventListener("hashchange", renderPage);
}

applyStaticStrings(document);
setUpHeader();
start().catch((e) => setChildren(document.getElementById("view"), el("p", { class: "error" }, e.message)));
