// The message view: header block, actions and the tabs (HTML, text, headers, source,
// attachments, links, envelope, transcript). Mail is untrusted: text goes in as text nodes, and
// HTML is shown only inside a sandboxed iframe (no scripts, opaque origin) whose document is
// served with a Content-Security-Policy that also blocks remote content until asked.

import { api } from "./api.js";
import { formatAddress, formatLongDate, formatSize, h, replace, safeUrl } from "./dom.js";

export const TABS = [
  ["html", "HTML"],
  ["text", "Text"],
  ["headers", "Headers"],
  ["source", "Source"],
  ["attachments", "Attachments"],
  ["links", "Links"],
  ["envelope", "Envelope"],
  ["transcript", "Transcript"],
];

const STICKY = new Set(["headers", "source", "envelope", "transcript"]);

// Big bodies are cut for display (the whole message is always one click away, as .eml).
const SHOW_CHARS = 1_000_000;
const SHOW_HEADER_CHARS = 8_000;
const SHOW_PARTS = 500;

const URL_RE = /\bhttps?:\/\/[^\s<>"'()[\]]+/gi;

/** Text with its http(s) URLs as links (built from text nodes and <a>, never markup). */
function linkify(text) {
  const out = [];
  let last = 0;
  for (const match of text.matchAll(URL_RE)) {
    const href = safeUrl(match[0].replace(/[.,;:!?]+$/, ""));
    if (!href) continue;
    out.push(text.slice(last, match.index));
    const shown = match[0].slice(0, href.length) === href ? href : match[0];
    out.push(h("a", { href, target: "_blank", rel: "noopener noreferrer" }, shown));
    last = match.index + shown.length;
  }
  out.push(text.slice(last));
  return out;
}

function clip(text, limit) {
  if (text.length <= limit) return [text, 0];
  return [text.slice(0, limit), text.length - limit];
}

function addressList(list) {
  return (list || []).map(formatAddress).filter(Boolean).join(", ");
}

function field(label, value, extra) {
  if (!value) return null;
  return h("div", { class: "msg-field" }, h("span", { class: "msg-label" }, label), h("span", { class: "msg-value" }, value), extra);
}

function emptyTab(text) {
  return h("div", { class: "tab-empty" }, text);
}

function kvTable(rows) {
  return h(
    "table",
    { class: "kv" },
    rows.filter(Boolean).map(([key, value]) => h("tr", null, h("th", null, key), h("td", null, value))),
  );
}

function flagChips(flags) {
  return (flags || []).map((flag) => h("span", { class: `chip flag${flag.startsWith("\\") ? " system" : ""}` }, flag));
}

/**
 * The view of one message. ``actions`` are the app's: setRead(row, read), remove(row),
 * openFolder(account, folder), release(message); ``relay`` says whether release is offered.
 */
export class MessageView {
  constructor(root, { actions, relay }) {
    this.root = root;
    this.actions = actions;
    this.relay = relay;
    this.id = null;
    this.tab = "html";
    this.controller = null;
    this.remoteAllowed = new Set();
  }

  clear() {
    this.controller?.abort();
    this.id = null;
    this.sessionKey = null;
    this.root.querySelector(".msg")?.remove();
    this.root.querySelector("#view-placeholder").hidden = false;
  }

  async show(row, preferredTab) {
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    this.id = row.id;
    this.row = row;
    const { signal } = controller;
    let message;
    let inspect;
    try {
      [message, inspect] = await Promise.all([
        api.message(row.id, signal),
        api.inspect(row.id, signal).catch(() => null),
      ]);
    } catch (error) {
      if (signal.aborted) return;
      this.render(h("div", { class: "msg" }, h("div", { class: "tab-empty error" }, `Could not load the message: ${error.message}`)));
      return;
    }
    if (signal.aborted) return;
    this.message = message;
    this.inspect = inspect;
    this.cache = {};
    // A tab every message has stays chosen from message to message; else the body is shown.
    let tab = preferredTab || (STICKY.has(this.tab) ? this.tab : "html");
    if (tab === "html" && !message.HTML) tab = "text";
    this.draw(tab);
  }

  /** A folder copy that is no SMTP transaction (IMAP APPEND, deliver()): its source only. */
  async showCopy(row, account, folder) {
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    this.id = null;
    this.row = row;
    this.message = null;
    const href = api.copyRawUrl(account, folder, row.uid);
    let raw;
    try {
      const response = await fetch(href, { signal: controller.signal });
      if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
      raw = await response.text();
    } catch (error) {
      if (!controller.signal.aborted) this.render(h("div", { class: "msg" }, h("div", { class: "tab-empty error" }, `Could not load the message: ${error.message}`)));
      return;
    }
    if (controller.signal.aborted) return;
    const [shown, rest] = clip(raw, SHOW_CHARS);
    this.render(
      h(
        "article",
        { class: "msg", "data-uid": String(row.uid) },
        h(
          "div",
          { class: "msg-head" },
          h("div", { class: "msg-titlebar" }, h("h1", { class: "msg-subject" }, row.subject || "(no subject)"), h("div", { class: "msg-actions" }, h("a", { class: "btn", href, download: "message.eml", id: "download-eml" }, "Download .eml"))),
          h("div", { class: "msg-fields" }, field("From", row.from?.Address), field("Folder", `${folder} · ${account} · UID ${row.uid}`), field("Date", formatLongDate(row.date)), field("Size", formatSize(row.size))),
          row.flags?.length ? h("div", { class: "msg-tags" }, flagChips(row.flags)) : null,
        ),
        h("div", { class: "banner" }, "Put in over IMAP APPEND (or by deliver()), not sent over SMTP: there is no envelope or transcript, only the source."),
        h("div", { class: "tab-body" }, h("div", { class: "scroll" }, h("pre", { class: "source" }, shown), rest ? h("div", { class: "tab-note" }, `${rest.toLocaleString()} more characters not shown.`) : null)),
      ),
    );
  }

  render(el) {
    this.root.querySelector("#view-placeholder").hidden = true;
    this.root.querySelector(".msg")?.remove();
    this.root.appendChild(el);
  }

  counts() {
    const m = this.message;
    return {
      attachments: (m.Attachments || []).length + (m.Inline || []).length,
      links: this.inspect ? (this.inspect.links || []).length : 0,
    };
  }

  draw(tab) {
    const m = this.message;
    const counts = this.counts();
    const tabs = h("div", { class: "tabs", role: "tablist" });
    for (const [name, label] of TABS) {
      const disabled = (name === "html" && !m.HTML) || (name === "text" && !m.Text && m.HTML);
      const count = counts[name];
      tabs.appendChild(
        h(
          "button",
          {
            type: "button",
            role: "tab",
            class: "tab",
            "aria-selected": name === tab ? "true" : "false",
            "data-tab": name,
            disabled: disabled && name !== tab,
            onclick: () => this.select(name),
          },
          label,
          count ? h("span", { class: "tab-count" }, String(count)) : null,
        ),
      );
    }
    this.tabsEl = tabs;
    this.body = h("div", { class: "tab-body", role: "tabpanel" });
    this.readButton = h("button", { type: "button", class: "btn", title: "Toggle read (u)", onclick: () => this.toggleRead() });
    this.updateReadButton();
    const actions = h(
      "div",
      { class: "msg-actions" },
      this.readButton,
      this.relay() ? h("button", { type: "button", class: "btn", id: "release-btn", onclick: () => this.actions.release(m) }, "Release…") : null,
      h("a", { class: "btn", href: api.rawUrl(m.ID), download: `${(m.Subject || "message").replace(/[^\w.-]+/g, "_").slice(0, 60) || "message"}.eml`, title: "Download .eml (s)", id: "download-eml" }, "Download .eml"),
      h("button", { type: "button", class: "btn danger", title: "Delete (d)", onclick: () => this.actions.remove(this.row) }, "Delete"),
    );
    const envelope = this.inspect?.envelope;
    const head = h(
      "div",
      { class: "msg-head" },
      h("div", { class: "msg-titlebar" }, h("h1", { class: "msg-subject" }, m.Subject || "(no subject)"), actions),
      h(
        "div",
        { class: "msg-fields" },
        field("From", formatAddress(m.From)),
        field("To", addressList(m.To)),
        field("Cc", addressList(m.Cc)),
        field("Bcc", addressList(m.Bcc) || (envelope ? this.bcc(envelope).join(", ") : "")),
        field("Reply-To", addressList(m.ReplyTo)),
        field("Date", formatLongDate(m.Date)),
        field("Size", formatSize(m.Size)),
      ),
      m.Tags?.length ? h("div", { class: "msg-tags" }, m.Tags.map((tag) => h("span", { class: "chip tag" }, tag))) : null,
    );
    this.render(h("article", { class: "msg", "data-id": m.ID }, head, tabs, this.body));
    this.select(tab);
  }

  updateReadButton() {
    if (this.readButton) this.readButton.textContent = this.row.read ? "Mark unread" : "Mark read";
  }

  async toggleRead() {
    await this.actions.setRead(this.row, !this.row.read);
    this.updateReadButton();
  }

  bcc(envelope) {
    const visible = new Set([...(this.message.To || []), ...(this.message.Cc || [])].map((a) => (a.Address || "").toLowerCase()));
    return (envelope.rcpt_to || []).filter((r) => !visible.has(r.toLowerCase()));
  }

  select(tab) {
    if (!this.message) return;
    const button = this.tabsEl.querySelector(`[data-tab="${tab}"]`);
    if (!button || button.disabled) return;
    this.tab = tab;
    for (const el of this.tabsEl.children) el.setAttribute("aria-selected", el === button ? "true" : "false");
    this.body.dataset.tab = tab;
    const draw = this[`tab_${tab}`].bind(this);
    replace(this.body, h("div", { class: "tab-empty" }, "Loading…"));
    Promise.resolve(draw()).then(
      (content) => {
        if (this.tab === tab && this.body.isConnected) replace(this.body, content);
      },
      (error) => replace(this.body, h("div", { class: "tab-empty error" }, error.message)),
    );
  }

  tab_html() {
    const m = this.message;
    if (!m.HTML) return emptyTab("This message has no HTML part.");
    const allowed = this.remoteAllowed.has(m.ID);
    const remote = this.inspect?.remote_content || 0;
    const frame = h("iframe", {
      class: "html-frame",
      title: "HTML body",
      // No allow-scripts, no allow-same-origin: the mail's document has an opaque origin and
      // runs nothing. Popups (links the user clicks) open outside the sandbox.
      sandbox: "allow-popups allow-popups-to-escape-sandbox",
      referrerpolicy: "no-referrer",
      src: api.viewUrl(m.ID, allowed),
    });
    const banner =
      remote && !allowed
        ? h(
            "div",
            { class: "banner" },
            h("span", null, `Remote content blocked (${remote} ${remote === 1 ? "reference" : "references"}).`),
            h("button", { type: "button", class: "btn small", id: "load-remote", onclick: () => { this.remoteAllowed.add(m.ID); this.select("html"); } }, "Load remote content"),
          )
        : null;
    return h("div", { class: "html-wrap" }, banner, frame);
  }

  tab_text() {
    const text = this.message.Text;
    if (!text) return emptyTab("This message has no text part.");
    const [shown, rest] = clip(text, SHOW_CHARS);
    return h("div", { class: "scroll" }, h("pre", { class: "text-body" }, linkify(shown)), rest ? this.more(rest, "characters") : null);
  }

  more(rest, what) {
    return h("div", { class: "tab-note" }, `${rest.toLocaleString()} more ${what} not shown. `, h("a", { href: api.rawUrl(this.message.ID), download: "message.eml" }, "Download the whole message"));
  }

  async tab_headers() {
    const headers = (this.cache.headers ??= await api.headers(this.message.ID));
    const rows = [];
    for (const [name, values] of Object.entries(headers)) {
      for (const value of values) {
        const [shown, rest] = clip(String(value), SHOW_HEADER_CHARS);
        rows.push(h("tr", null, h("th", null, name), h("td", null, shown, rest ? h("span", { class: "muted" }, ` … ${rest.toLocaleString()} more characters`) : null)));
      }
    }
    return h("div", { class: "scroll" }, h("table", { class: "kv headers" }, rows));
  }

  async tab_source() {
    const raw = (this.cache.raw ??= await api.raw(this.message.ID));
    const [shown, rest] = clip(raw, SHOW_CHARS);
    return h("div", { class: "scroll" }, h("pre", { class: "source" }, shown), rest ? this.more(rest, "characters") : null);
  }

  tab_attachments() {
    const m = this.message;
    const parts = [...(m.Attachments || []).map((p) => [p, "attachment"]), ...(m.Inline || []).map((p) => [p, "inline"])];
    if (!parts.length) return emptyTab("No attachments.");
    const rows = parts.slice(0, SHOW_PARTS).map(([part, kind]) => {
      const href = api.partUrl(m.ID, part.PartID);
      const name = part.FileName || `part-${part.PartID}`;
      const isImage = /^image\/(png|jpe?g|gif|webp|bmp|avif)$/i.test(part.ContentType || "");
      return h(
        "div",
        { class: "attachment" },
        isImage ? h("img", { class: "thumb", src: href, alt: "", loading: "lazy" }) : h("div", { class: "thumb file" }, (name.split(".").pop() || "").slice(0, 4).toUpperCase()),
        h("div", { class: "attachment-meta" }, h("div", { class: "attachment-name" }, name), h("div", { class: "muted" }, `${part.ContentType || "?"} · ${formatSize(part.Size)} · ${kind}${part.ContentID ? ` · cid:${part.ContentID}` : ""}`)),
        h("a", { class: "btn small", href, download: name }, "Download"),
      );
    });
    const more = parts.length > SHOW_PARTS ? h("div", { class: "tab-note" }, `${(parts.length - SHOW_PARTS).toLocaleString()} more parts not shown.`) : null;
    return h("div", { class: "scroll" }, h("div", { class: "attachments" }, rows), more);
  }

  tab_links() {
    const links = this.inspect?.links || [];
    if (!links.length) return emptyTab(this.inspect ? "No links found." : "Links are not available.");
    return h(
      "div",
      { class: "scroll" },
      h(
        "ol",
        { class: "links" },
        links.map((link) => {
          const href = safeUrl(link);
          return h("li", null, href ? h("a", { href, target: "_blank", rel: "noopener noreferrer" }, link) : h("span", null, link));
        }),
      ),
    );
  }

  tab_envelope() {
    const info = this.inspect;
    if (!info) return emptyTab("Envelope details are not available.");
    const env = info.envelope || {};
    const bcc = new Set(this.bcc(env).map((a) => a.toLowerCase()));
    const rcpts = h(
      "div",
      { class: "rcpts" },
      (env.rcpt_to || []).map((rcpt) => h("div", null, rcpt, bcc.has(rcpt.toLowerCase()) ? h("span", { class: "chip bcc", title: "In no To or Cc header" }, "Bcc") : null)),
    );
    const copies = (info.copies || []).map((copy) =>
      h(
        "tr",
        null,
        h("td", null, h("a", { href: `#account=${encodeURIComponent(copy.account)}&folder=${encodeURIComponent(copy.folder)}` }, copy.account)),
        h("td", null, copy.folder),
        h("td", { class: "num" }, String(copy.uid)),
        h("td", null, flagChips(copy.flags)),
      ),
    );
    return h(
      "div",
      { class: "scroll pad" },
      h("h3", { class: "section" }, "SMTP envelope"),
      kvTable([
        ["MAIL FROM", env.mail_from === "" ? "<> (null sender)" : env.mail_from],
        ["RCPT TO", rcpts],
        ["AUTH user", env.auth_user || h("span", { class: "muted" }, "none")],
        ["TLS", env.tls ? "yes" : h("span", { class: "muted" }, "no")],
        ["HELO", env.helo || h("span", { class: "muted" }, "none")],
        ["Client", env.peer || h("span", { class: "muted" }, "not over the network")],
        env.protocol ? ["Via", env.protocol] : null,
        env.mail_options?.length ? ["Options", env.mail_options.join(" ")] : null,
      ]),
      h("h3", { class: "section" }, "Mailbox copies"),
      copies.length
        ? h("table", { class: "grid" }, h("thead", null, h("tr", null, h("th", null, "Account"), h("th", null, "Folder"), h("th", { class: "num" }, "UID"), h("th", null, "Flags"))), h("tbody", null, copies))
        : h("div", { class: "muted" }, "No mailbox holds a copy (deleted by a client, or no local recipient)."),
    );
  }

  tab_transcript() {
    const lines = this.inspect?.transcript || [];
    if (!lines.length) return emptyTab("No transcript kept for this message's session.");
    return h("div", { class: "scroll" }, transcriptBlock(lines));
  }
}

/** A protocol transcript, client and server lines told apart. */
export function transcriptBlock(lines) {
  return h(
    "pre",
    { class: "transcript" },
    lines.map((line) => {
      const kind = line.startsWith("C:") ? "c" : line.startsWith("S:") ? "s" : line.startsWith("*") ? "n" : "m";
      return h("span", { class: `tl ${kind}` }, line, "\n");
    }),
  );
}
