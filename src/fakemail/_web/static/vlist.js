// A virtual list: only the rows in (and just around) the viewport exist in the DOM, so 10,000
// messages cost as much to show as 30. Rows have one fixed height; row elements are reused.

import { frameThrottle } from "./dom.js";

export class VirtualList {
  /**
   * @param {HTMLElement} viewport  the scrolling element
   * @param {HTMLElement} spacer    a child sized to the whole list
   * @param {{rowHeight: number, create: () => HTMLElement,
   *          render: (el: HTMLElement, index: number) => void,
   *          onRange: (first: number, last: number) => void}} options
   */
  constructor(viewport, spacer, options) {
    this.viewport = viewport;
    this.spacer = spacer;
    this.rowHeight = options.rowHeight;
    this.create = options.create;
    this.renderRow = options.render;
    this.onRange = options.onRange;
    this.overscan = 8;
    this.count = 0;
    this.rows = new Map(); // index -> element
    this.free = [];
    this.schedule = frameThrottle(() => this.render());
    viewport.addEventListener("scroll", this.schedule, { passive: true });
    new ResizeObserver(this.schedule).observe(viewport);
  }

  /** Set the number of rows (keeps the scroll position). */
  setCount(count) {
    this.count = count;
    this.spacer.style.height = `${count * this.rowHeight}px`;
    this.schedule();
  }

  /** Redraw every visible row (data changed). */
  invalidate() {
    for (const el of this.rows.values()) el.dataset.key = "";
    this.schedule();
  }

  /** Draw synchronously now (after a data change the caller wants on screen at once). */
  flush() {
    this.render();
  }

  range() {
    const top = this.viewport.scrollTop;
    const height = this.viewport.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / this.rowHeight) - this.overscan);
    const last = Math.min(this.count, Math.ceil((top + height) / this.rowHeight) + this.overscan);
    return [first, last];
  }

  render() {
    const [first, last] = this.range();
    for (const [index, el] of this.rows) {
      if (index < first || index >= last) {
        this.rows.delete(index);
        el.hidden = true;
        this.free.push(el);
      }
    }
    for (let index = first; index < last; index += 1) {
      let el = this.rows.get(index);
      if (!el) {
        el = this.free.pop() || this.spacer.appendChild(this.create());
        el.hidden = false;
        el.dataset.key = "";
        el.style.transform = `translateY(${index * this.rowHeight}px)`;
        this.rows.set(index, el);
      }
      el.dataset.index = String(index);
      this.renderRow(el, index);
    }
    this.onRange(first, last);
  }

  /** Scroll just enough for row ``index`` to be fully visible. */
  reveal(index) {
    const top = index * this.rowHeight;
    const bottom = top + this.rowHeight;
    const view = this.viewport;
    if (top < view.scrollTop) view.scrollTop = top;
    else if (bottom > view.scrollTop + view.clientHeight) view.scrollTop = bottom - view.clientHeight;
  }

  /** Keep the rows on screen in place when ``n`` rows are inserted above them. */
  shiftBy(n) {
    if (this.viewport.scrollTop > 0) this.viewport.scrollTop += n * this.rowHeight;
  }
}
