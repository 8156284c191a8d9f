// fakemail's web UI: the list (live from /api/events), navigation, search and the message view.

import { api } from "./api.js";
import { debounce, displayName, formatShortDate, h, icon, replace } from "./dom.js";
import { EventStream } from "./events.js";
import { FolderSource, MailpitSource } from "./source.js";
import { MessageView, TABS, transcriptBlock } from "./view.js";
import { VirtualList } from "./vlist.js";

const ROW_HEIGHT = 56;
const $ = (id) => document.getElementById(id);

const state = {
  route: { kind: "all" },
  source: null,
  selectedKey: null,
  relay: false,
  counts: { total: 0, unread: 0 },
  sessionId: null,
};

// ------------------------------------------------------------------ theme

function applyTheme(theme) {
  if (theme === "light" || theme === "dark") document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
}
applyTheme(localStorage.getItem("fakemail.theme"));

function toggleTheme() {
  const dark = document.documentElement.dataset.theme
    ? document.documentElement.dataset.theme === "dark"
    : matchMedia("(prefers-color-scheme: dark)").matches;
  const next = dark ? "light" : "dark";
  localStorage.setItem("fakemail.theme", next);
  applyTheme(next);
}

// ------------------------------------------------------------------ toasts and dialogs

function toast(text, kind = "info") {
  const el = h("div", { class: `toast ${kind}` }, text);
  $("toasts").appendChild(el);
  setTimeout(() => el.remove(), 4000);
}

function confirmDialog(text, ok = "Delete") {
  const dialog = $("confirm");
  $("confirm-text").textContent = text;
  $("confirm-ok").textContent = ok;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
  });
}

// ------------------------------------------------------------------ routes (the URL hash)

function parseRoute() {
  const params = new URLSearchParams(location.hash.slice(1));
  const msg = params.get("msg");
  if (params.has("sessions")) return { kind: "sessions" };
  if (params.get("account") && params.get("folder")) {
    return { kind: "folder", account: params.get("account"), folder: params.get("folder"), msg };
  }
  if (params.get("q")) return { kind: "search", query: params.get("q"), msg };
  return { kind: "all", msg };
}

function routeHash(route) {
  const params = new URLSearchParams();
  if (route.kind === "sessions") return "#sessions";
  if (route.kind === "folder") {
    params.set("account", route.account);
    params.set("folder", route.folder);
  }
  if (route.kind === "search") params.set("q", route.query);
  if (route.msg) params.set("msg", route.msg);
  const text = params.toString();
  return text ? `#${text}` : "#";
}

function sameList(a, b) {
  return a.kind === b.kind && a.query === b.query && a.account === b.account && a.folder === b.folder;
}

function navigate(route, { replaceHistory = false } = {}) {
  const hash = routeHash(route);
  if (location.hash === hash || (hash === "#" && !location.hash)) return;
  if (replaceHistory) history.replaceState(null, "", hash);
  else history.pushState(null, "", hash);
  onRoute();
}

// ------------------------------------------------------------------ list

const listEl = $("list");
const list = new VirtualList(listEl, $("list-spacer"), {
  rowHeight: ROW_HEIGHT,
  create: createRow,
  render: renderRow,
  onRange: (first, last) => state.source?.ensure(first, last),
});

function createRow() {
  const el = h(
    "div",
    { class: "row", role: "option" },
    h("span", { class: "row-dot" }),
    h("span", { class: "row-from" }),
    h("span", { class: "row-icons" }),
    h("span", { class: "row-date" }),
    h("span", { class: "row-line" }, h("span", { class: "row-subject" }), h("span", { class: "row-tags" }), h("span", { class: "row-snippet" })),
  );
  el.addEventListener("click", () => {
    const row = state.source?.item(Number(el.dataset.index));
    if (row) select(row, { open: true });
  });
  return el;
}

function renderRow(el, index) {
  const row = state.source?.item(index);
  const selected = row && row.key === state.selectedKey;
  const key = row ? `${row.key}|${row.read}|${row.tags.join(",")}|${(row.flags || []).join(",")}|${selected}` : "loading";
  if (el.dataset.key === key) return;
  el.dataset.key = key;
  const [, from, icons, date, line] = el.children;
  const [subject, tags, snippet] = line.children;
  el.classList.toggle("loading", !row);
  if (!row) {
    from.textContent = "";
    subject.textContent = "";
    snippet.textContent = "";
    date.textContent = "";
    icons.replaceChildren();
    tags.replaceChildren();
    el.removeAttribute("aria-selected");
    return;
  }
  el.classList.toggle("unread", !row.read);
  el.classList.toggle("deleted", Boolean(row.flags?.includes("\\Deleted")));
  el.setAttribute("aria-selected", selected ? "true" : "false");
  el.dataset.id = row.id || "";
  from.textContent = displayName(row.from) || "(no sender)";
  from.title = row.from?.Address || "";
  subject.textContent = row.subject || "(no subject)";
  snippet.textContent = row.snippet ? `\u00a0— ${row.snippet}` : "";
  date.textContent = formatShortDate(row.date);
  date.title = row.date ? new Date(row.date).toString() : "";
  const marks = [];
  if (row.flags?.includes("\\Flagged")) marks.push(icon("star", "Flagged"));
  if (row.flags?.includes("\\Answered")) marks.push(icon("reply", "Answered"));
  if (row.attachments) marks.push(icon("clip", `${row.attachments} attachment${row.attachments === 1 ? "" : "s"}`));
  icons.replaceChildren(...marks);
  const chips = [...row.tags, ...(row.flags || []).filter((f) => !f.startsWith("\\"))];
  tags.replaceChildren(...chips.slice(0, 4).map((tag) => h("span", { class: "chip tag" }, tag)));
}

function updateListChrome() {
  const source = state.source;
  if (!source) {
    updateNav();
    return;
  }
  const route = state.route;
  let title = "All mail";
  if (route.kind === "search") title = `Search: ${route.query}`;
  if (route.kind === "folder") title = `${route.folder} · ${route.account}`;
  $("list-title").textContent = title;
  $("list-title").title = title;
  const unread = source.unread ? ` · ${source.unread.toLocaleString()} unread` : "";
  $("list-meta").textContent = source.ready ? `${source.total.toLocaleString()} ${source.total === 1 ? "message" : "messages"}${unread}` : "";
  const empty = source.ready && source.total === 0;
  $("list-empty").hidden = !empty;
  if (empty) {
    $("list-empty").querySelector(".empty-title").textContent = route.kind === "search" ? "No matches" : "No mail yet";
    $("empty-body").textContent =
      route.kind === "all" ? "Mail sent to fakemail's SMTP port appears here as it arrives." : route.kind === "search" ? "Nothing matches this search." : "This folder is empty.";
  }
  const mailpit = route.kind !== "folder";
  $("delete-all").hidden = !mailpit || source.total === 0;
  $("mark-all-read").hidden = !mailpit || source.unread === 0;
  $("delete-all").textContent = route.kind === "search" ? "Delete matches" : "Delete all";
  updateNav();
}

/** Highlight the sidebar entry of the list shown. */
function updateNav() {
  const route = state.route;
  for (const [id, active] of [
    ["nav-all", route.kind === "all"],
    ["nav-unread", route.kind === "search" && route.query === "is:unread"],
    ["nav-sessions", route.kind === "sessions"],
  ]) {
    $(id).classList.toggle("active", active);
  }
  for (const el of document.querySelectorAll("[data-folder-key]")) {
    el.classList.toggle("active", route.kind === "folder" && el.dataset.folderKey === `${route.account}\n${route.folder}`);
  }
  for (const el of document.querySelectorAll("[data-tag]")) {
    el.classList.toggle("active", route.kind === "search" && route.query === tagQuery(el.dataset.tag));
  }
}

function onSourceChange() {
  const pending = state.pendingIndex;
  if (pending !== null && pending !== undefined && state.source.item(pending)) {
    state.pendingIndex = null;
    select(state.source.item(pending));
  }
  list.setCount(state.source.total);
  list.invalidate();
  updateListChrome();
  if (state.source instanceof MailpitSource && !state.source.query) {
    renderTags(state.source.tags);
  }
}

function openSource(route) {
  const source = route.kind === "folder" ? new FolderSource(route.account, route.folder) : new MailpitSource(route.kind === "search" ? route.query : "");
  source.onChange = onSourceChange;
  source.onError = (error) => toast(`Could not load messages: ${error.message}`, "error");
  state.source = source;
  listEl.scrollTop = 0;
  list.setCount(0);
  return source.reload(0);
}

// A change the list cannot apply by itself (a search, a folder, a bulk change): fetch the rows
// on screen again, at most every 150 ms however fast mail arrives.
const refreshList = debounce(() => {
  if (!state.source || state.route.kind === "sessions") return;
  const [first] = list.range();
  state.source.reload(first);
}, 150);

// ------------------------------------------------------------------ selection

function currentIndex() {
  return state.selectedKey ? state.source.indexOfKey(state.selectedKey) : -1;
}

function select(row, { open = true } = {}) {
  state.selectedKey = row.key;
  list.invalidate();
  const index = state.source.indexOfKey(row.key);
  if (index >= 0) list.reveal(index);
  if (open) openMessage(row);
}

function openMessage(row) {
  if (!row.id) {
    view.showCopy(row, state.route.account, state.route.folder);
    return;
  }
  if (state.route.msg !== row.id) {
    state.route = { ...state.route, msg: row.id };
    history.replaceState(null, "", routeHash(state.route));
  }
  if (!row.read) {
    row.read = true;
    if (state.source.unread) state.source.unread -= 1;
    list.invalidate();
    updateListChrome();
  }
  view.show(row);
}

function move(delta) {
  const source = state.source;
  if (!source || !source.total) return;
  const index = Math.min(source.total - 1, Math.max(0, currentIndex() + delta)); // -1: none yet
  const row = source.item(index);
  state.pendingIndex = row ? null : index;
  if (row) select(row);
  else {
    list.reveal(index); // its page is fetched as it scrolls into view; selected on arrival
    source.ensure(index, index + 1);
  }
}

// ------------------------------------------------------------------ actions

async function setRead(row, read) {
  try {
    await api.setRead([row.id], read);
  } catch (error) {
    toast(error.message, "error");
    return;
  }
  if (row.read !== read && state.source.unread !== undefined) state.source.unread += read ? -1 : 1;
  row.read = read;
  list.invalidate();
  updateListChrome();
}

async function removeRow(row) {
  if (!row?.id) return;
  const index = state.source.indexOfKey(row.key);
  try {
    await api.delete([row.id]);
  } catch (error) {
    toast(error.message, "error");
    return;
  }
  const removed = state.source.remove(row.id);
  if (!removed) refreshList();
  onSourceChange();
  const next = state.source.item(Math.min(index, state.source.total - 1));
  if (next) select(next);
  else {
    state.selectedKey = null;
    view.clear();
  }
}

async function deleteAll() {
  const route = state.route;
  const searching = route.kind === "search";
  const what = searching ? `every message matching “${route.query}”` : "every message";
  if (!(await confirmDialog(`Delete ${what}? This cannot be undone.`))) return;
  try {
    if (searching) await api.deleteSearch(route.query);
    else await api.deleteAll();
  } catch (error) {
    toast(error.message, "error");
    return;
  }
  view.clear();
  state.selectedKey = null;
  openSource(route);
}

async function markAllRead() {
  try {
    await api.markAllRead();
  } catch (error) {
    toast(error.message, "error");
    return;
  }
  refreshList();
}

function releaseDialog(message) {
  const dialog = $("release");
  const input = $("release-to");
  const error = $("release-error");
  input.value = (message.To || []).map((a) => a.Address).filter(Boolean).join(", ");
  error.hidden = true;
  dialog.returnValue = "";
  dialog.showModal();
  dialog.addEventListener(
    "close",
    async () => {
      if (dialog.returnValue !== "ok") return;
      const to = input.value.split(/[,\s]+/).filter(Boolean);
      try {
        await api.release(message.ID, to);
        toast(`Released to ${to.join(", ")}`);
      } catch (failure) {
        toast(`Release failed: ${failure.message}`, "error");
      }
    },
    { once: true },
  );
}

const view = new MessageView($("view"), {
  actions: { setRead, remove: removeRow, release: releaseDialog },
  relay: () => state.relay,
});

// ------------------------------------------------------------------ sidebar

function tagQuery(tag) {
  return /[\s"]/.test(tag) ? `tag:"${tag.replace(/"/g, "")}"` : `tag:${tag}`;
}

function renderTags(tags) {
  const box = $("nav-tags");
  const key = (tags || []).join("\n");
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  box.previousElementSibling.hidden = !tags?.length;
  replace(
    box,
    (tags || []).map((tag) =>
      h("a", { class: "nav-item", href: routeHash({ kind: "search", query: tagQuery(tag) }), dataset: { tag } }, h("span", { class: "nav-label" }, h("span", { class: "chip tag" }, tag))),
    ),
  );
  updateListChrome();
}

const FOLDER_ORDER = ["INBOX", "Drafts", "Sent", "Archive", "Junk", "Trash"];

async function loadAccounts() {
  let accounts;
  try {
    accounts = await api.accounts();
  } catch {
    return;
  }
  const box = $("nav-accounts");
  if (!accounts.length) {
    replace(box, h("div", { class: "nav-empty" }, "No accounts yet"));
    return;
  }
  replace(
    box,
    accounts.map((account) => {
      const folders = [...account.folders].sort((a, b) => {
        const ia = FOLDER_ORDER.indexOf(a.name);
        const ib = FOLDER_ORDER.indexOf(b.name);
        return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.name.localeCompare(b.name);
      });
      const unseen = account.folders.reduce((sum, f) => sum + (f.unseen || 0), 0);
      const shown = folders.filter((f) => f.messages || FOLDER_ORDER.slice(0, 1).includes(f.name) || !FOLDER_ORDER.includes(f.name));
      const hidden = folders.length - shown.length;
      return h(
        "details",
        { class: "account", open: true },
        h("summary", { class: "account-name", title: account.login && account.login !== account.address ? `${account.address} (login ${account.login})` : account.address }, h("span", { class: "nav-label" }, account.address), unseen ? h("span", { class: "nav-count" }, unseen.toLocaleString()) : null),
        shown.map((folder) =>
          h(
            "a",
            {
              class: "nav-item folder",
              href: routeHash({ kind: "folder", account: account.address, folder: folder.name }),
              dataset: { folderKey: `${account.address}\n${folder.name}` },
              title: `${folder.messages} messages, ${folder.unseen} unseen${folder.special_use ? `, ${folder.special_use}` : ""}`,
            },
            h("span", { class: "nav-label" }, folder.name === "INBOX" ? "Inbox" : folder.name),
            h("span", { class: `nav-count${folder.unseen ? " strong" : ""}` }, (folder.unseen || folder.messages || "").toLocaleString()),
          ),
        ),
        hidden ? h("div", { class: "nav-hidden" }, `${hidden} empty ${hidden === 1 ? "folder" : "folders"}`) : null,
      );
    }),
  );
  updateListChrome();
}
const refreshAccounts = debounce(loadAccounts, 300);

function updateCounts(total, unread) {
  state.counts = { total, unread };
  $("count-all").textContent = total ? total.toLocaleString() : "";
  $("count-unread").textContent = unread ? unread.toLocaleString() : "";
  document.title = unread ? `(${unread}) fakemail` : "fakemail";
}

// ------------------------------------------------------------------ sessions (transcripts)

async function showSessions() {
  state.source = null;
  list.setCount(0);
  $("list-empty").hidden = true;
  $("delete-all").hidden = true;
  $("mark-all-read").hidden = true;
  $("list-title").textContent = "Sessions";
  updateListChrome();
  let sessions = [];
  try {
    sessions = await api.transcripts(100); // newest first
  } catch (error) {
    toast(error.message, "error");
  }
  if (state.route.kind !== "sessions") return;
  $("list-meta").textContent = `${sessions.length} recent`;
  const box = h("div", { class: "sessions", id: "sessions" });
  const wanted = sessions.find((s) => s.id === state.sessionId) || sessions[0];
  for (const session of sessions) {
    const item = h(
      "button",
      { type: "button", class: "session", dataset: { id: String(session.id) }, onclick: () => openSession(session) },
      h("span", { class: "chip proto" }, session.protocol),
      h("span", { class: "session-peer" }, session.peer),
      h("span", { class: "row-date" }, formatShortDate(session.started)),
      h("span", { class: "session-first muted" }, `#${session.id} · ${session.lines.length} lines`),
    );
    box.appendChild(item);
  }
  document.querySelector("#sessions")?.remove();
  listEl.parentElement.appendChild(box);
  if (wanted && view.sessionKey === `${wanted.id}:${wanted.lines.length}`) markSession(wanted);
  else if (wanted) openSession(wanted);
  else {
    view.clear();
    box.appendChild(h("div", { class: "nav-empty" }, "No sessions yet."));
  }
}

// Sessions come and go with every connection: redraw the list at most every 500 ms.
const refreshSessions = debounce(() => {
  if (state.route.kind === "sessions") showSessions();
}, 500);

function markSession(session) {
  for (const el of document.querySelectorAll(".session")) el.classList.toggle("active", el.dataset.id === String(session.id));
}

function openSession(session) {
  state.sessionId = session.id;
  markSession(session);
  const panel = h("article", { class: "msg" }, h("div", { class: "msg-head" }, h("h1", { class: "msg-subject" }, `${session.protocol.toUpperCase()} session #${session.id} from ${session.peer}`)), h("div", { class: "tab-body" }, h("div", { class: "scroll" }, transcriptBlock(session.lines))));
  view.clear();
  view.render(panel);
  view.sessionKey = `${session.id}:${session.lines.length}`;
}

// ------------------------------------------------------------------ routing

async function onRoute() {
  const route = parseRoute();
  const previous = state.route;
  state.route = route;
  document.querySelector("#sessions")?.remove();
  listEl.hidden = route.kind === "sessions";
  $("search").value = route.kind === "search" ? route.query : "";
  if (route.kind === "sessions") {
    showSessions();
    return;
  }
  if (!state.source || !sameList(previous, route) || previous.kind === "sessions") {
    state.selectedKey = null;
    view.clear();
    await openSource(route);
  }
  if (route.msg && route.msg !== view.id) {
    const index = state.source.rows.findIndex((row) => row && row.id === route.msg);
    const row = index >= 0 ? state.source.item(index) : { key: route.msg, id: route.msg, read: true, tags: [] };
    select(row);
  }
}

// ------------------------------------------------------------------ live events

function onEvent(type, data) {
  const source = state.source;
  if (type === "stats") {
    updateCounts(data.Total ?? 0, data.Unread ?? 0);
    return;
  }
  if (type === "error") {
    if (data?.Message) toast(`${data.Type || "server"}: ${data.Message}`, "error");
    return;
  }
  refreshAccounts();
  refreshSessions();
  if (!source) return;
  if (type === "new" && source instanceof MailpitSource) {
    if (source.acceptsNew) {
      if (source.addNew(data)) {
        list.shiftBy(1);
        list.setCount(source.total);
        list.invalidate();
        list.flush();
        updateListChrome();
        source.tags = mergeTags(source.tags, data.Tags);
        renderTags(source.tags);
      }
    } else refreshList();
    return;
  }
  if (type === "update" && source instanceof MailpitSource && source.acceptsNew) {
    if (source.update(data)) {
      list.invalidate();
      updateListChrome();
      if (view.row && view.row.id === data.ID) view.updateReadButton();
    }
    return;
  }
  if (type === "delete" && source instanceof MailpitSource && source.acceptsNew) {
    if (source.remove(data.ID)) onSourceChange();
    if (view.id === data.ID) {
      view.clear();
      state.selectedKey = null;
    }
    return;
  }
  if (type === "truncate") {
    view.clear();
    state.selectedKey = null;
  }
  refreshList();
}

function mergeTags(tags, more) {
  const all = new Set([...(tags || []), ...(more || [])]);
  return [...all].sort((a, b) => a.localeCompare(b));
}

// ------------------------------------------------------------------ keyboard

function onKey(event) {
  const target = event.target;
  const typing = target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement;
  if (document.querySelector("dialog[open]")) return;
  if (typing) {
    if (event.key === "Escape") {
      target.blur();
      if (target.id === "search" && target.value) {
        target.value = "";
        navigate({ kind: "all" });
      }
    }
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const row = state.source && state.selectedKey ? state.source.item(currentIndex()) : null;
  const keys = {
    j: () => move(1),
    ArrowDown: () => move(1),
    k: () => move(-1),
    ArrowUp: () => move(-1),
    g: () => move(-Infinity),
    G: () => move(Infinity),
    Home: () => move(-Infinity),
    End: () => move(Infinity),
    Enter: () => row && openMessage(row),
    "/": () => $("search").focus(),
    Escape: () => {
      if (state.route.kind === "search") navigate({ kind: "all" });
      else {
        state.selectedKey = null;
        view.clear();
        list.invalidate();
      }
    },
    u: () => row?.id && setRead(row, !row.read),
    d: () => row && removeRow(row),
    Delete: () => row && removeRow(row),
    R: () => markAllRead(),
    D: () => deleteAll(),
    s: () => view.id && $("download-eml")?.click(),
    t: toggleTheme,
    "?": () => $("help").showModal(),
  };
  TABS.forEach(([name], index) => {
    keys[String(index + 1)] = () => view.select(name);
  });
  const action = keys[event.key];
  if (action) {
    event.preventDefault();
    action();
  }
}

// ------------------------------------------------------------------ start

function start() {
  document.addEventListener("keydown", onKey);
  window.addEventListener("hashchange", onRoute);
  $("theme").addEventListener("click", toggleTheme);
  $("help-btn").addEventListener("click", () => $("help").showModal());
  $("delete-all").addEventListener("click", deleteAll);
  $("mark-all-read").addEventListener("click", markAllRead);
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const query = $("search").value.trim();
    navigate(query ? { kind: "search", query } : { kind: "all" });
  });
  $("search").addEventListener("search", () => {
    if (!$("search").value) navigate({ kind: "all" });
  });
  api.webui().then(
    (config) => {
      state.relay = Boolean(config?.MessageRelay?.Enabled);
      // An instance label (Mailpit's --label) tells servers apart; the product name is no label.
      const label = config?.Label;
      if (label && label !== "fakemail") document.querySelector(".brand span").textContent = `fakemail · ${label}`;
    },
    () => {},
  );
  api.messages(0, 0).then((data) => updateCounts(data.total ?? 0, data.unread ?? 0), () => {});
  loadAccounts();
  onRoute();
  const live = $("live");
  new EventStream(api.eventsUrl(), {
    onEvent,
    onState: (value) => {
      live.dataset.state = value;
      $("live-text").textContent = value === "live" ? "live" : value === "connecting" ? "connecting" : "offline";
    },
    onReconnect: () => {
      refreshList();
      loadAccounts();
    },
  });
}

start();
