// A form that publishes a test message through `POST /v2/publish/{destination}` (or
// `/v2/enqueue/{queue}/{destination}`), with the common Upstash-* options.

import { call } from "./api.js";
import { h, replace } from "./dom.js";
import { act } from "./feedback.js";

function field(id, label, input, hint) {
  return h(
    "div",
    { className: "field" },
    h("label", { for: id }, label),
    input,
    hint ? h("small", { id: `${id}-hint` }, hint) : null,
  );
}

export function form(root) {
  const result = h("div", { className: "result", "aria-live": "polite" });
  const input = (id, attrs = {}) => h("input", { id, name: id, ...attrs });
  const formNode = h(
    "form",
    { className: "send", "aria-label": "Send a message" },
    field("destination", "Destination URL or URL group", input("destination", { required: true, placeholder: "https://example.com/hook" })),
    field("method", "Method", h("select", { id: "method", name: "method" }, ["POST", "PUT", "PATCH", "GET", "DELETE"].map((m) => h("option", {}, m)))),
    field("content-type", "Content type", input("content-type", { value: "application/json" })),
    field("body", "Body", h("textarea", { id: "body", name: "body", rows: 5 })),
    field("delay", "Delay", input("delay", { placeholder: "10s", "aria-describedby": "delay-hint" }), "e.g. 10s, 5m, 1h; empty for now"),
    field("retries", "Retries", input("retries", { type: "number", min: 0, max: 100 })),
    field("label", "Label", input("label")),
    field("queue", "Queue (optional)", input("queue")),
    h("button", { type: "submit" }, "Publish"),
  );

  formNode.addEventListener("submit", (event) => {
    event.preventDefault();
    const v = Object.fromEntries(new FormData(formNode));
    const headers = { "Content-Type": v["content-type"] || "text/plain", "Upstash-Method": v.method };
    if (v.delay) headers["Upstash-Delay"] = v.delay;
    if (v.retries !== "") headers["Upstash-Retries"] = v.retries;
    if (v.label) headers["Upstash-Label"] = v.label;
    const path = v.queue
      ? `/v2/enqueue/${encodeURIComponent(v.queue)}/${v.destination.trim()}`
      : `/v2/publish/${v.destination.trim()}`;
    act(async () => {
      const answer = await call("POST", path, { body: v.body, headers });
      const published = Array.isArray(answer) ? answer : [answer];
      replace(
        result,
        h("p", {}, "Published:"),
        h(
          "ul",
          {},
          published.map((m) => h("li", {}, h("a", { href: `#message/${encodeURIComponent(m.messageId)}` }, m.messageId), m.url ? ` to ${m.url}` : "")),
        ),
      );
      return published;
    }, (published) => `Published ${published.length === 1 ? "1 message" : `${published.length} messages`}`);
  });

  replace(root, h("h2", {}, "Send a message"), formNode, result);
  return { title: "Send a message", refresh: null };
}
