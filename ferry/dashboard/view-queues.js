// Queues and flow-control keys: parallelism, lag, in flight, paused; pause and resume.

import { call, getIfServed } from "./api.js";
import { h, renderKeepingFocus, replace, table } from "./dom.js";
import { act } from "./feedback.js";

const notServed = (path) => h("p", { className: "empty" }, `This Ferry has no ${path} API yet (it answered 404).`);

function pauseButton(noun, id, paused, path, refresh) {
  const verb = paused ? "Resume" : "Pause";
  return h(
    "button",
    {
      type: "button",
      "aria-label": `${verb} ${noun} ${id}`,
      "data-key": `${noun}-${id}`,
      onClick: () =>
        act(async () => {
          await call("POST", `${path}/${encodeURIComponent(id)}/${verb.toLowerCase()}`);
          await refresh();
        }, `${verb}d ${noun} ${id}`),
    },
    verb,
  );
}

export function list(root) {
  const queuesBox = h("div", { className: "rows" });
  const keysBox = h("div", { className: "rows" });

  async function refresh() {
    const [queues, keys] = await Promise.all([getIfServed("/v2/queues"), getIfServed("/v2/flowControl")]);
    renderKeepingFocus(queuesBox, JSON.stringify(queues), () =>
      queues === null
        ? notServed("/v2/queues")
        : table({
            caption: "Queues",
            columns: ["Name", "Parallelism", "Lag", "In flight", "Status", "Actions"],
            empty: "No queues. A queue is created on the first /v2/enqueue to it.",
            rows: queues.map((q) =>
              h(
                "tr",
                { "data-queue": q.name },
                h("td", {}, h("code", {}, q.name)),
                h("td", {}, q.parallelism),
                h("td", {}, q.lag ?? ""),
                h("td", {}, q.inFlight ?? q.parallelismCount ?? ""),
                h("td", {}, q.paused ? "Paused" : "Active"),
                h("td", { className: "actions" }, pauseButton("queue", q.name, q.paused, "/v2/queues", refresh)),
              ),
            ),
          }),
    );
    renderKeepingFocus(keysBox, JSON.stringify(keys), () =>
      keys === null
        ? notServed("/v2/flowControl")
        : table({
            caption: "Flow-control keys",
            columns: ["Key", "Parallelism", "In flight", "Waiting", "Rate", "Status", "Actions"],
            empty: "No flow-control keys in use.",
            rows: keys.map((k) =>
              h(
                "tr",
                { "data-flow-control-key": k.flowControlKey },
                h("td", {}, h("code", {}, k.flowControlKey)),
                h("td", {}, k.parallelismMax || "unlimited"),
                h("td", {}, k.parallelismCount ?? 0),
                h("td", {}, k.waitListSize ?? 0),
                h("td", {}, k.rateMax ? `${k.rateCount ?? 0} of ${k.rateMax} per ${k.ratePeriod || 1} s` : "unlimited"),
                h("td", {}, k.isPaused ? "Paused" : "Active"),
                h(
                  "td",
                  { className: "actions" },
                  pauseButton("key", k.flowControlKey, k.isPaused, "/v2/flowControl", refresh),
                ),
              ),
            ),
          }),
    );
  }

  replace(root, h("h2", {}, "Queues"), queuesBox, h("h2", {}, "Flow-control keys"), keysBox);
  return { title: "Queues", refresh };
}
