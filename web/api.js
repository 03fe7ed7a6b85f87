// Talking to the server: the JSON routes with the session's API key (sessionStorage: it lives as long as the tab and
// never goes into a URL), their errors as ApiError with the server's message, and multipart uploads with progress
// (XMLHttpRequest: fetch cannot report upload progress).
const KEY_STORAGE = "qembed.apiKey";

export function apiKey() {
  return sessionStorage.getItem(KEY_STORAGE) || "";
}

export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function authHeaders() {
  const key = apiKey();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

// Every dialect's error shape: OpenAI {"error": {"message"}}, TEI/Ollama {"error": "..."}.
function errorMessage(data, text, status) {
  if (data && typeof data === "object") {
    if (data.error && typeof data.error === "object" && data.error.message) return data.error.message;
    if (typeof data.error === "string") return data.error;
  }
  return text || `HTTP ${status}`;
}

function parse(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Calls a route; resolves to the parsed JSON (or the text), rejects with ApiError. */
export async function request(method, path, body) {
  const headers = authHeaders();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  const data = parse(text);
  if (!res.ok) throw new ApiError(res.status, errorMessage(data, text, res.status));
  return data;
}

export const apiGet = (path) => request("GET", path);
export const apiPost = (path, body) => request("POST", path, body ?? {});
export const apiDelete = (path) => request("DELETE", path);

/** The path of a collection's route: names are percent-encoded as one path segment. */
export function collectionPath(name, rest = "") {
  return `/v1/kb/collections/${encodeURIComponent(name)}${rest}`;
}

/**
 * Uploads files to a collection in one multipart request. onProgress(loadedBytes, totalBytes) follows the upload;
 * resolves to the answer ({job, documents}), rejects with ApiError.
 */
export function uploadFiles(collection, files, onProgress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const f of files) form.append("file", f, f.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", collectionPath(collection, "/documents"));
    for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded, e.total);
    };
    xhr.onload = () => {
      const data = parse(xhr.responseText);
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(new ApiError(xhr.status, errorMessage(data, xhr.responseText, xhr.status)));
    };
    xhr.onerror = () => reject(new ApiError(0, "network error"));
    xhr.send(form);
  });
}
