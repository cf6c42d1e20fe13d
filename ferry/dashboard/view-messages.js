// Messages: the newest log entry of each message (from /v2/events, paged by its cursor), with
// search and filters; a message opens its event timeline and can be cancelled.

import { ApiError, call, get } from "./api.js";
import { decodeBase64, h, renderKeepingFocus, replace, stateBadge, table, time } from "./dom.js";
import { act } from "./feedback.js";
import { pager } from "./paging.js";

const PAGE_SIZE = 50;
const STATES = ["", "CREATED", "ACTIVE", "RETRY", "ERROR", "DELIVERED", "FAILED", "CANCEL_REQUESTED", "CANCELED"];
const TERMINAL = new Set(["DELIVERED", "FAILED", "CANCELED"]);

function attempts(entry) {
  return entry.state === "CREATED" ? 0 : (entry.retried || 0) + 1;
}

function filterForm(onApply) {
  const field = (id, label, input) => h("div", { className: "field" }, h("label", { for: id }, label), input);
  const form = h(
    "form",
    { className: "filters", role: "search", "aria-label": "Filter messages" },
    field("filter-id", "Message ID", h("input", { id: "filter-id", name: "messageId", type: "search" })),
    field(
      "filter-state",
      "State",
      h("select", { id: "filter-state", name: "state" }, STATES.map((s) => h("option", { value: s }, s || "Any"))),
    ),
    field("filter-url", "URL", h("input", { id: "filter-url", name: "url", type: "search" })),
    field("filter-label", "Label", h("input", { id: "filter-label", name: "label", type: "search" })),
    field("filter-queue", "Queue", h("input", { id: "filter-queue", name: "queueName", type: "search" })),
    h("button", { type: "submit" }, "Apply filters"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    onApply(Object.fromEntries(new FormData(form)));
  });
  return form;
}

export function list(root) {
  let filters = {};
  const rowsBox = h("div", { className: "rows" });
  const pages = pager({
    fetchPage: (cursor) => get("/v2/events", { ...filters, count: PAGE_SIZE, cursor }),
    itemsOf: (data) => data.events || [],
    onChange: render,
  });

  function render(entries) {
    // Newest first, so the first entry seen for a message is its current state.
    const latest = new Map();
    for (const entry of entries) if (!latest.has(entry.messageId)) latest.set(entry.messageId, entry);
    const shown = [...latest.values()];
    renderKeepingFocus(rowsBox, JSON.stringify(shown), () =>
      table({
        caption: "Messages, newest first",
        columns: ["Message ID", "Destination", "State", "Attempts", "Label", "Time"],
        empty: "No messages match. Publish one with the send form or a QStash SDK.",
        rows: shown.map((e) =>
          h(
            "tr",
            { "data-message-id": e.messageId },
            h("td", {}, h("a", { href: `#message/${encodeURIComponent(e.messageId)}`, "data-key": e.messageId }, e.messageId)),
            h("td", { className: "url" }, e.url),
            h("td", {}, stateBadge(e.state)),
            h("td", {}, attempts(e)),
            h("td", {}, e.label || ""),
            h("td", {}, time(e.time)),
          ),
        ),
      }),
    );
  }

  replace(
    root,
    h("h2", {}, "Messages"),
    filterForm((values) => {
      filters = values;
      pages.reset();
    }),
    rowsBox,
    pages.controls("messages"),
  );
  return { title: "Messages", refresh: () => pages.refresh() };
}

function timelineItem(entry) {
  const details = [];
  if (entry.responseStatus) details.push(h("li", {}, `Response status: ${entry.responseStatus}`));
  if (entry.responseBody) details.push(h("li", {}, "Response body: ", h("code", {}, decodeBase64(entry.responseBody))));
  if (entry.nextDeliveryTime) details.push(h("li", {}, "Next delivery: ", time(entry.nextDeliveryTime)));
  if (entry.error) details.push(h("li", {}, `Error: ${entry.error}`));
  if (entry.dlqId) details.push(h("li", {}, `Dead-letter id: ${entry.dlqId}`));
  return h(
    "li",
    { className: "event", "data-state": entry.state },
    stateBadge(entry.state),
    " ",
    time(entry.time),
    details.length ? h("ul", {}, details) : null,
  );
}

export function detail(root, messageId) {
  const summary = h("div", { className: "summary" });
  const events = h("div", { className: "timeline" });
  const cancel = h("button", { type: "button", hidden: true }, "Cancel message");
  cancel.addEventListener("click", () =>
    act(async () => {
      const result = await call("DELETE", `/v2/messages/${encodeURIComponent(messageId)}`);
      await refresh();
      return result;
    }, "Cancel requested"),
  );

  async function refresh() {
    const [log, message] = await Promise.all([
      get("/v2/events", { messageId, count: 100 }),
      get(`/v2/messages/${encodeURIComponent(messageId)}`).catch((error) => {
        if (error instanceof ApiError && error.status === 404) return null;
        throw error;
      }),
    ]);
    const entries = [...(log.events || [])].reverse(); // oldest first reads as a timeline
    const last = entries[entries.length - 1];
    cancel.hidden = !message || (last && TERMINAL.has(last.state));
    renderKeepingFocus(summary, JSON.stringify(message), () =>
      message
        ? h(
            "dl",
            {},
            h("dt", {}, "Destination"),
            h("dd", { className: "url" }, message.url),
            h("dt", {}, "Method"),
            h("dd", {}, message.method),
            h("dt", {}, "Retries"),
            h("dd", {}, message.maxRetries),
            h("dt", {}, "Created"),
            h("dd", {}, time(message.createdAt)),
            message.body !== undefined ? [h("dt", {}, "Body"), h("dd", {}, h("code", {}, message.body))] : null,
          )
        : h("p", {}, "The message itself is no longer stored (it finished); its log remains."),
    );
    renderKeepingFocus(events, JSON.stringify(entries), () =>
      entries.length
        ? h("ol", { "aria-label": "Timeline" }, entries.map(timelineItem))
        : h("p", { className: "empty" }, "No events for this message id."),
    );
  }

  replace(
    root,
    h("p", {}, h("a", { href: "#messages" }, "Back to messages")),
    h("h2", {}, "Message ", h("code", {}, messageId)),
    summary,
    cancel,
    h("h3", {}, "Timeline"),
    events,
  );
  return { title: `Message ${messageId}`, refresh };
}
