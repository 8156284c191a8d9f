// The HTTP API: Mailpit's /api/v1 and fakemail's own /api/fakemail. URLs are relative to the
// page, so the UI also works behind a reverse proxy under a path prefix.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Absolute URL of an API path (relative to the page). */
export function url(path, params) {
  const result = new URL(path, document.baseURI);
  if (params) {
    for (const [key, value] of Object.entries(params)) {
      if (value !== undefined && value !== null) result.searchParams.set(key, String(value));
    }
  }
  return result.href;
}

async function request(method, path, { params, body, as = "json", signal } = {}) {
  const init = { method, signal, headers: {} };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(url(path, params), init);
  if (!response.ok) {
    let text = "";
    try {
      text = await response.text();
      const parsed = JSON.parse(text);
      text = parsed.Error || parsed.error || parsed.detail || text;
    } catch {
      // not JSON: keep the text
    }
    throw new ApiError(response.status, `${response.status} ${text || response.statusText}`.trim());
  }
  if (as === "text") return response.text();
  if (as === "none") return null;
  const type = response.headers.get("Content-Type") || "";
  return type.includes("json") ? response.json() : response.text();
}

export const enc = encodeURIComponent;

export const api = {
  messages: (start, limit, signal) =>
    request("GET", "api/v1/messages", { params: { start, limit }, signal }),
  search: (query, start, limit, signal) =>
    request("GET", "api/v1/search", {
      params: { query, start, limit, tz: Intl.DateTimeFormat().resolvedOptions().timeZone },
      signal,
    }),
  message: (id, signal) => request("GET", `api/v1/message/${enc(id)}`, { signal }),
  headers: (id, signal) => request("GET", `api/v1/message/${enc(id)}/headers`, { signal }),
  raw: (id, signal) => request("GET", `api/v1/message/${enc(id)}/raw`, { as: "text", signal }),
  setRead: (ids, read) => request("PUT", "api/v1/messages", { body: { IDs: ids, Read: read } }),
  markAllRead: () => request("PUT", "api/v1/messages", { body: { Read: true } }),
  delete: (ids) => request("DELETE", "api/v1/messages", { body: { IDs: ids } }),
  deleteAll: () => request("DELETE", "api/v1/messages", { body: {} }),
  deleteSearch: (query) => request("DELETE", "api/v1/search", { params: { query } }),
  release: (id, to) => request("POST", `api/v1/message/${enc(id)}/release`, { body: { To: to } }),
  webui: () => request("GET", "api/v1/webui"),
  accounts: () => request("GET", "api/fakemail/accounts"),
  folder: (address, folder, start, limit, signal) =>
    request("GET", `api/fakemail/accounts/${enc(address)}/folders/${enc(folder)}`, {
      params: { start, limit },
      signal,
    }),
  copyRawUrl: (address, folder, uid) =>
    url(`api/fakemail/accounts/${enc(address)}/folders/${enc(folder)}/uid/${uid}/raw`),
  inspect: (id, signal) => request("GET", `api/fakemail/message/${enc(id)}`, { signal }),
  transcripts: (limit) => request("GET", "api/fakemail/transcripts", { params: { limit } }),
  partUrl: (id, part) => url(`api/v1/message/${enc(id)}/part/${enc(part)}`),
  rawUrl: (id) => url(`api/v1/message/${enc(id)}/raw`),
  // Mailpit's /view/{ID}.html, served sandboxed; embed=1: links open outside the frame.
  viewUrl: (id, remote) => url(`view/${enc(id)}.html`, { embed: 1, remote: remote ? 1 : null }),
  eventsUrl: () => {
    const target = new URL("api/events", document.baseURI);
    target.protocol = target.protocol === "https:" ? "wss:" : "ws:";
    return target.href;
  },
};
