// Cursor paging over a list endpoint: the first page is re-read on every poll (new items show up
// live), older pages are fetched only when asked for, one page at a time; nothing loads it all.

import { h } from "./dom.js";
import { act } from "./feedback.js";

export function pager({ fetchPage, itemsOf, onChange }) {
  let first = [];
  let older = [];
  let cursor = null; // where the next older page starts; null on the last page
  let olderLoaded = false;
  let generation = 0;
  const button = h("button", { type: "button", hidden: true }, "Load older");

  function changed() {
    button.hidden = !cursor;
    onChange([...first, ...older]);
  }

  async function refresh() {
    const mine = generation;
    const data = await fetchPage(undefined);
    if (mine !== generation) return; // filters changed while this page was on its way
    first = itemsOf(data);
    if (!olderLoaded) cursor = data.cursor || null;
    changed();
  }

  async function loadOlder() {
    const mine = generation;
    const data = await fetchPage(cursor);
    if (mine !== generation) return;
    older = [...older, ...itemsOf(data)];
    olderLoaded = true;
    cursor = data.cursor || null;
    changed();
  }

  button.addEventListener("click", () => act(loadOlder));

  return {
    refresh,
    reset() {
      generation += 1;
      first = [];
      older = [];
      cursor = null;
      olderLoaded = false;
      return act(refresh);
    },
    controls(noun) {
      button.textContent = `Load older ${noun}`;
      return h("div", { className: "paging" }, button);
    },
  };
}
