// Dead letter queue: entries with their failure reason and last response; Retry and Delete one
// entry or every selected entry.

import { call, get, sendJson } from "./api.js";
import { h, renderKeepingFocus, replace, table, time } from "./dom.js";
import { act } from "./feedback.js";
import { pager } from "./paging.js";

const PAGE_SIZE = 50;

const countEntries = (n) => (n === 1 ? "1 entry" : `${n} entries`);

export function list(root) {
  const selected = new Set();
  const rowsBox = h("div", { className: "rows" });
  const pages = pager({
    fetchPage: (cursor) => get("/v2/dlq", { count: PAGE_SIZE, cursor }),
    itemsOf: (data) => data.messages || [],
    onChange: render,
  });

  async function after(action, message) {
    await act(async () => {
      const result = await action();
      await pages.refresh();
      return result;
    }, message);
  }

  const retry = (id) => after(() => call("POST", `/v2/dlq/retry/${encodeURIComponent(id)}`), `Retried ${id}`);
  const remove = (id) => after(() => call("DELETE", `/v2/dlq/${encodeURIComponent(id)}`), `Deleted ${id}`);
  function bulk(method, path, verb) {
    const ids = [...selected];
    if (!ids.length) return act(async () => Promise.reject(new Error("Select entries first.")));
    selected.clear();
    return after(() => sendJson(method, path, { dlqIds: ids }), `${verb} ${countEntries(ids.length)}`);
  }

  function row(entry) {
    const id = entry.dlqId;
    const box = h("input", { type: "checkbox", "aria-label": `Select ${id}`, "data-key": `select-${id}`, checked: selected.has(id) });
    box.addEventListener("change", () => (box.checked ? selected.add(id) : selected.delete(id)));
    const lastResponse = entry.responseBody ?? (entry.responseBodyBase64 ? "(binary)" : "");
    return h(
      "tr",
      { "data-dlq-id": id },
      h("td", {}, box),
      h("td", {}, h("code", {}, id)),
      h("td", {}, h("a", { href: `#message/${encodeURIComponent(entry.messageId)}` }, entry.messageId)),
      h("td", { className: "url" }, entry.url),
      h("td", {}, entry.failureReason || ""),
      h("td", {}, entry.responseStatus ? `${entry.responseStatus} ` : "", h("code", {}, lastResponse)),
      h("td", {}, time(entry.createdAt)),
      h(
        "td",
        { className: "actions" },
        h("button", { type: "button", "aria-label": `Retry ${id}`, "data-key": `retry-${id}`, onClick: () => retry(id) }, "Retry"),
        h("button", { type: "button", "aria-label": `Delete ${id}`, "data-key": `delete-${id}`, onClick: () => remove(id) }, "Delete"),
      ),
    );
  }

  function render(entries) {
    const ids = new Set(entries.map((e) => e.dlqId));
    for (const id of [...selected]) if (!ids.has(id)) selected.delete(id);
    renderKeepingFocus(rowsBox, JSON.stringify(entries), () =>
      table({
        caption: "Dead letters, newest first",
        columns: ["Select", "DLQ ID", "Message ID", "Destination", "Reason", "Last response", "Created", "Actions"],
        empty: "The dead letter queue is empty.",
        rows: entries.map(row),
      }),
    );
  }

  replace(
    root,
    h("h2", {}, "Dead letter queue"),
    h(
      "div",
      { className: "toolbar", role: "group", "aria-label": "Selected entries" },
      h("button", { type: "button", onClick: () => bulk("POST", "/v2/dlq/retry", "Retried") }, "Retry selected"),
      h("button", { type: "button", onClick: () => bulk("DELETE", "/v2/dlq", "Deleted") }, "Delete selected"),
    ),
    rowsBox,
    pages.controls("dead letters"),
  );
  return { title: "Dead letter queue", refresh: () => pages.refresh() };
}
