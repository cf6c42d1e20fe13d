// Workflow runs: the list in Upstash Workflow's `GET /v2/workflows/logs` shape; a run's detail from
// Ferry's `GET /v2/workflows/runs/{id}`, whose steps also carry their delivery state, input,
// attempts and duration. Cancel a running run, redrive a failed one from its failed step.

import { ApiError, call, get, getIfServed } from "./api.js";
import { decodeBase64, h, renderKeepingFocus, replace, stateBadge, table, time } from "./dom.js";
import { act } from "./feedback.js";
import { pager } from "./paging.js";

const PAGE_SIZE = 20;
const LOGS = "/v2/workflows/logs";
const RUNS = "/v2/workflows/runs";

const notServed = () => h("p", { className: "empty" }, `This Ferry has no ${LOGS} API yet (it answered 404).`);

// Upstash groups steps (`[{type: "sequential"|"parallel", steps: [...]}]`); a flat list of steps
// reads the same.
function stepsOf(run) {
  return (run.steps || []).flatMap((item) =>
    Array.isArray(item.steps) ? item.steps.map((step) => ({ ...step, group: item.type })) : [item],
  );
}

export function list(root) {
  let served = true;
  const rowsBox = h("div", { className: "rows" });
  const pages = pager({
    fetchPage: async (cursor) => {
      const data = await getIfServed(LOGS, { count: PAGE_SIZE, cursor });
      served = data !== null;
      return data || { runs: [] };
    },
    itemsOf: (data) => data.runs || [],
    onChange: (runs) =>
      renderKeepingFocus(rowsBox, JSON.stringify([served, runs]), () =>
        !served
          ? notServed()
          : table({
              caption: "Workflow runs, newest first",
              columns: ["Run ID", "Workflow URL", "State", "Steps", "Started", "Completed"],
              empty: "No workflow runs yet.",
              rows: runs.map((run) =>
                h(
                  "tr",
                  { "data-run-id": run.workflowRunId },
                  h("td", {}, h("a", { href: `#workflow/${encodeURIComponent(run.workflowRunId)}`, "data-key": run.workflowRunId }, run.workflowRunId)),
                  h("td", { className: "url" }, run.workflowUrl),
                  h("td", {}, stateBadge(run.workflowState)),
                  h("td", {}, stepsOf(run).length),
                  h("td", {}, time(run.workflowRunCreatedAt)),
                  h("td", {}, time(run.workflowRunCompletedAt)),
                ),
              ),
            }),
      ),
  });
  replace(root, h("h2", {}, "Workflow runs"), rowsBox, pages.controls("runs"));
  return { title: "Workflow runs", refresh: () => pages.refresh() };
}

function attemptsOf(step) {
  if (Array.isArray(step.attempts)) return step.attempts.length || "";
  return step.retried !== undefined ? step.retried + 1 : "";
}

function durationOf(step, previous) {
  // The delivery time the step's attempts took; else the time since the step before it.
  if (typeof step.durationMs === "number" && step.attempts && step.attempts.length) return `${step.durationMs} ms`;
  return previous && step.createdAt ? `${Math.max(0, step.createdAt - previous.createdAt)} ms` : "";
}

function inputOf(step) {
  if (step.input !== undefined && step.input !== null) return h("code", {}, String(step.input));
  return step.body !== undefined ? h("code", {}, decodeBase64(step.body)) : "";
}

function stepRow(step, previous) {
  return h(
    "tr",
    { "data-step": step.stepName || "" },
    h("td", {}, step.stepId ?? ""),
    h("td", {}, step.stepName || (step.stepId === undefined ? "(run started)" : "")),
    h("td", {}, step.stepType || ""),
    h("td", {}, stateBadge(step.state)),
    h("td", {}, attemptsOf(step)),
    h("td", {}, durationOf(step, previous)),
    h("td", {}, inputOf(step)),
    h("td", {}, step.out !== undefined ? h("code", {}, String(step.out)) : ""),
    h("td", {}, time(step.createdAt)),
  );
}

export function detail(root, runId) {
  const box = h("div", { className: "rows" });
  const actions = h("div", { className: "toolbar" });

  const run = (method, path, message) =>
    act(async () => {
      await call(method, path);
      await refresh();
    }, message);

  async function refresh() {
    const base = `${RUNS}/${encodeURIComponent(runId)}`;
    let found = null;
    try {
      found = await get(base);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) throw error;
    }
    const data = found ? { runs: [found] } : {};
    const state = found ? found.workflowState : "";
    renderKeepingFocus(actions, state, () => [
      state === "RUN_STARTED"
        ? h("button", { type: "button", "data-key": "cancel", onClick: () => run("DELETE", `${base}?cancel=true`, `Cancelled ${runId}`) }, "Cancel run")
        : null,
      state === "RUN_FAILED"
        ? h("button", { type: "button", "data-key": "redrive", onClick: () => run("POST", `${base}/redrive`, `Redriving ${runId}`) }, "Redrive from the failed step")
        : null,
    ]);
    renderKeepingFocus(box, JSON.stringify(data && found), () => {
      if (!found) return h("p", { className: "empty" }, "No run with this id.");
      const steps = stepsOf(found);
      return [
        h("p", {}, "State: ", stateBadge(found.workflowState), " · URL: ", h("span", { className: "url" }, found.workflowUrl)),
        table({
          caption: "Steps",
          columns: ["Step", "Name", "Type", "State", "Attempts", "Duration", "Input", "Output", "Time"],
          empty: "No steps yet.",
          rows: steps.map((step, i) => stepRow(step, steps[i - 1])),
        }),
      ];
    });
  }

  replace(
    root,
    h("p", {}, h("a", { href: "#workflows" }, "Back to workflow runs")),
    h("h2", {}, "Workflow run ", h("code", {}, runId)),
    actions,
    box,
  );
  return { title: `Workflow run ${runId}`, refresh };
}
