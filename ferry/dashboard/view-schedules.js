// Schedules: cron, destination, next firing, last state; pause, resume and delete.

import { call, get } from "./api.js";
import { h, renderKeepingFocus, replace, table, time } from "./dom.js";
import { act } from "./feedback.js";

function lastState(schedule) {
  const states = Object.values(schedule.lastScheduleStates || {});
  return states.length ? states.join(", ") : "";
}

export function list(root) {
  const rowsBox = h("div", { className: "rows" });

  async function refresh() {
    const schedules = await get("/v2/schedules");
    renderKeepingFocus(rowsBox, JSON.stringify(schedules), () =>
      table({
        caption: "Schedules",
        columns: ["Schedule ID", "Cron", "Destination", "Next firing", "Last firing", "Last state", "Status", "Actions"],
        empty: "No schedules. Create one with a QStash SDK or `ferry schedules create`.",
        rows: schedules.map(row),
      }),
    );
  }

  const run = (method, path, message) =>
    act(async () => {
      await call(method, path);
      await refresh();
    }, message);

  function row(s) {
    const id = s.scheduleId;
    const path = `/v2/schedules/${encodeURIComponent(id)}`;
    const toggle = s.isPaused
      ? h("button", { type: "button", "aria-label": `Resume ${id}`, "data-key": `toggle-${id}`, onClick: () => run("POST", `${path}/resume`, `Resumed ${id}`) }, "Resume")
      : h("button", { type: "button", "aria-label": `Pause ${id}`, "data-key": `toggle-${id}`, onClick: () => run("POST", `${path}/pause`, `Paused ${id}`) }, "Pause");
    return h(
      "tr",
      { "data-schedule-id": id },
      h("td", {}, h("code", {}, id)),
      h("td", {}, h("code", {}, s.cron)),
      h("td", { className: "url" }, s.destination),
      h("td", {}, s.isPaused ? "" : time(s.nextScheduleTime)),
      h("td", {}, time(s.lastScheduleTime)),
      h("td", {}, lastState(s)),
      h("td", {}, s.isPaused ? "Paused" : "Active"),
      h(
        "td",
        { className: "actions" },
        toggle,
        h("button", { type: "button", "aria-label": `Delete ${id}`, "data-key": `delete-${id}`, onClick: () => run("DELETE", path, `Deleted ${id}`) }, "Delete"),
      ),
    );
  }

  replace(root, h("h2", {}, "Schedules"), rowsBox);
  return { title: "Schedules", refresh };
}
