// Where the list's rows come from: Mailpit's message list or search (newest first, paged by
// start/limit), or one account's folder (fakemail's own API, also newest first). Rows are
// fetched a page at a time as they scroll into view and kept in a sparse array.

import { api } from "./api.js";

const PAGE = 100;

/** One list row, whatever the source: the fields the list draws. */
function fromSummary(m) {
  return {
    key: m.ID,
    id: m.ID,
    from: m.From,
    to: m.To || [],
    subject: m.Subject || "",
    snippet: m.Snippet || "",
    date: m.Created,
    read: Boolean(m.Read),
    attachments: m.Attachments || 0,
    tags: m.Tags || [],
    flags: null,
    size: m.Size,
  };
}

function fromFolderItem(m) {
  const flags = m.flags || [];
  return {
    key: `uid:${m.uid}`,
    id: m.id,
    uid: m.uid,
    from: { Name: "", Address: m.from || "" },
    to: [],
    subject: m.subject || "",
    snippet: "",
    date: m.internal_date,
    read: flags.includes("\\Seen"),
    attachments: 0,
    tags: [],
    flags,
    size: m.size,
  };
}

class Source {
  constructor() {
    this.rows = [];
    this.total = 0;
    this.unread = 0;
    this.tags = [];
    this.ready = false;
    this.inflight = null;
    this.epoch = 0; // bumped when indices change in a way a pending page cannot follow
    this.prepends = 0; // rows inserted at the top since the source was made
    this.onChange = () => {};
  }

  item(index) {
    return this.rows[index];
  }

  indexOfKey(key) {
    return this.rows.findIndex((row) => row && row.key === key);
  }

  /** Fetch the first missing rows of [first, last), one page at a time. */
  ensure(first, last) {
    if (this.inflight) return;
    let missing = -1;
    for (let i = first; i < Math.min(last, this.total); i += 1) {
      if (this.rows[i] === undefined) {
        missing = i;
        break;
      }
    }
    if (missing < 0) return;
    this.fetchPage(missing);
  }

  async fetchPage(start) {
    const token = { epoch: this.epoch, prepends: this.prepends };
    this.inflight = token;
    try {
      const page = await this.page(start, PAGE);
      if (token.epoch !== this.epoch) return;
      const at = start + (this.prepends - token.prepends);
      this.apply(page, at);
    } catch (error) {
      this.onError?.(error);
    } finally {
      if (this.inflight === token) this.inflight = null;
    }
    this.onChange();
  }

  /** Reload from scratch, keeping rows on screen until the new ones arrive. */
  async reload(first = 0) {
    this.epoch += 1;
    const token = { epoch: this.epoch };
    this.inflight = token;
    try {
      const start = Math.max(0, first);
      const page = await this.page(start, PAGE);
      if (token.epoch !== this.epoch) return;
      this.rows = [];
      this.apply(page, start);
      this.ready = true;
    } catch (error) {
      this.onError?.(error);
    } finally {
      if (this.inflight === token) this.inflight = null;
    }
    this.onChange();
  }

  apply(page, at) {
    this.total = page.total;
    if (page.unread !== undefined) this.unread = page.unread;
    if (page.tags) this.tags = page.tags;
    this.rows.length = this.total;
    page.rows.forEach((row, offset) => {
      if (at + offset < this.total) this.rows[at + offset] = row;
    });
  }

  /** Whether a new message can be put at the top without asking the server. */
  get acceptsNew() {
    return false;
  }
}

/** All mail, or a search: Mailpit's /api/v1/messages and /api/v1/search. */
export class MailpitSource extends Source {
  constructor(query = "") {
    super();
    this.query = query;
  }

  async page(start, limit) {
    const data = this.query
      ? await api.search(this.query, start, limit)
      : await api.messages(start, limit);
    return {
      total: data.messages_count ?? data.total ?? 0,
      unread: data.messages_unread ?? data.unread,
      tags: data.tags,
      rows: (data.messages || []).map(fromSummary),
    };
  }

  get acceptsNew() {
    return !this.query;
  }

  addNew(summary) {
    if (this.indexOfKey(summary.ID) >= 0) return false;
    this.rows.unshift(fromSummary(summary));
    this.total += 1;
    this.prepends += 1;
    if (!summary.Read) this.unread += 1;
    return true;
  }

  update(data) {
    const index = this.indexOfKey(data.ID);
    if (index < 0) return false;
    const row = this.rows[index];
    if (data.Read !== undefined) {
      if (row.read !== Boolean(data.Read)) this.unread += data.Read ? -1 : 1;
      row.read = Boolean(data.Read);
    }
    if (data.Tags !== undefined) row.tags = data.Tags || [];
    return true;
  }

  remove(id) {
    const index = this.indexOfKey(id);
    if (index < 0) return false;
    if (!this.rows[index].read) this.unread = Math.max(0, this.unread - 1);
    this.rows.splice(index, 1);
    this.total = Math.max(0, this.total - 1);
    this.epoch += 1;
    return true;
  }
}

/** One folder of one account, with IMAP flags: fakemail's /api/fakemail/accounts/... */
export class FolderSource extends Source {
  constructor(account, folder) {
    super();
    this.account = account;
    this.folder = folder;
  }

  async page(start, limit) {
    const data = await api.folder(this.account, this.folder, start, limit);
    return {
      total: data.total ?? (data.messages || []).length,
      unread: data.unseen,
      rows: (data.messages || []).map(fromFolderItem),
    };
  }

  update(data) {
    const index = this.rows.findIndex((row) => row && row.id === data.ID);
    if (index < 0 || data.Read === undefined) return false;
    this.rows[index].read = Boolean(data.Read);
    return true;
  }

  remove() {
    return false;
  }
}
