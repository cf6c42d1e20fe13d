// A real HTTP server on 127.0.0.1 serving workflows with the unchanged @upstash/workflow JS SDK.
// The SDK's `serve` verifies every request with its Receiver (QSTASH_*_SIGNING_KEY in the env).
// Prints {"port": n} once listening; GET /counts answers how often each step body ran.
import http from "node:http";
import { Client, serve, WorkflowNonRetryableError, WorkflowRetryAfterError } from "@upstash/workflow";

const counts = {};
const bump = (name) => {
  counts[name] = (counts[name] ?? 0) + 1;
  return counts[name];
};
// Bodies POSTed to /failure-sink: a failure URL that is no workflow (client.trigger's failureUrl).
const failureCalls = [];
const thirdParty = process.env.THIRD_PARTY_URL;
const client = new Client({ baseUrl: process.env.QSTASH_URL, token: process.env.QSTASH_TOKEN });
const base = () => `http://127.0.0.1:${server.address().port}`;
// The test drives the JS Client through these (trigger, cancel), as an app would.
const control = {
  "/control/trigger": async ({ path, body, workflowRunId, failurePath, retries }) =>
    client.trigger({
      url: base() + path,
      body,
      workflowRunId,
      retries,
      ...(failurePath ? { failureUrl: base() + failurePath } : {}),
    }),
  "/control/logs": async (filter) => client.logs(filter),
  "/control/cancel": async ({ ids }) => client.cancel(ids),
  "/control/notify": async ({ eventId, eventData, workflowRunId }) =>
    client.notify({ eventId, eventData, workflowRunId }),
  "/control/waiters": async ({ eventId }) => client.getWaiters({ eventId }),
  "/control/barrier": async ({ runId }) => barrier(runId),
  "/control/release": async ({ runId }) => {
    barrier(runId).released = true;
    return {};
  },
};

// What `createWorkflow` of the framework adapters returns: `invoke` needs the workflow's id (the
// last path segment of its URL, next to the invoking workflow's).
const invokedChild = {
  routeFunction: async (context) => {
    const { n } = context.requestPayload;
    return await context.run("child-work", () => bump("js-invoke-child/work") && { doubled: n * 2 });
  },
  options: {},
  workflowId: "js-invoke-child",
  useJSONContent: false,
};
const failingChild = {
  routeFunction: async (context) => {
    await context.run("child-refuses", () => {
      bump("js-invoke-failing-child/refuses");
      throw new WorkflowNonRetryableError("the child gives up");
    });
  },
  options: {},
  workflowId: "js-invoke-failing-child",
  useJSONContent: false,
};

// Where parallel branch bodies meet, per run: `inside` counts the bodies that entered; a body
// waits (at most 10 s) until `size` are inside, so branches delivered one after another never meet.
// `released` lets a held body finish (the cancel test holds the branches while it cancels).
const barriers = {};
const barrier = (runId) => (barriers[runId] ??= { inside: 0, most: 0, released: false });
const pause = () => new Promise((resolve) => setTimeout(resolve, 20));
const meet = async (runId, size) => {
  const b = barrier(runId);
  b.inside += 1;
  b.most = Math.max(b.most, b.inside);
  const deadline = Date.now() + 10_000;
  while (b.inside < size && Date.now() < deadline) await pause();
  return b.inside >= size;
};
const hold = async (runId) => {
  const b = barrier(runId);
  b.inside += 1;
  b.most = Math.max(b.most, b.inside);
  const deadline = Date.now() + 15_000;
  while (!b.released && Date.now() < deadline) await pause();
};
const meetingBranch = (context, name, value) =>
  context.run(`branch-${name}`, async () => {
    bump(`js-parallel-barrier/${context.workflowRunId}/${name}`);
    if (!(await meet(context.workflowRunId, 3))) {
      throw new WorkflowNonRetryableError(`only ${barrier(context.workflowRunId).inside} of 3 inside at once`);
    }
    return value;
  });

const workflows = {
  "/js-parallel-barrier": serve(async (context) => {
    const results = await Promise.all([
      meetingBranch(context, "a", "A"),
      meetingBranch(context, "b", { b: 2 }),
      meetingBranch(context, "c", ["C"]),
    ]);
    await context.run("joined", () => bump(`js-parallel-barrier/${context.workflowRunId}/joined`) && results);
  }),
  "/js-parallel-failing": serve(async (context) => {
    const runId = context.workflowRunId;
    await Promise.all([
      context.run("fine-a", () => bump(`js-parallel-failing/${runId}/a`) && "A"),
      // Busy every time: its retries (3, each 1 s after the last) are spent, then the run fails.
      context.run("fails-b", () => {
        bump(`js-parallel-failing/${runId}/b`);
        throw new WorkflowRetryAfterError("branch b is always busy", 1);
      }),
      context.run("fine-c", () => bump(`js-parallel-failing/${runId}/c`) && "C"),
    ]);
    await context.run("after", () => bump(`js-parallel-failing/${runId}/after`));
  }, {
    failureFunction: async ({ context, failStatus }) => {
      bump(`js-parallel-failing/${context.workflowRunId}/failure-function`);
      failureCalls.push({ body: JSON.stringify({ workflowRunId: context.workflowRunId, failStatus }), signed: true });
    },
  }),
  "/js-parallel-held": serve(async (context) => {
    const runId = context.workflowRunId;
    const branch = (name) =>
      context.run(`held-${name}`, async () => {
        bump(`js-parallel-held/${runId}/${name}`);
        await hold(runId);
        return name;
      });
    await Promise.all([branch("a"), branch("b"), branch("c")]);
    await context.run("after", () => bump(`js-parallel-held/${runId}/after`));
  }),
  "/js-call": serve(async (context) => {
    const before = await context.run("before", () => bump("js-call/before") && "ready");
    const answer = await context.call("third-party", {
      url: thirdParty,
      method: "POST",
      body: { before },
    });
    await context.run("after", () => bump("js-call/after") && answer.status);
  }),
  "/js-sleeper": serve(async (context) => {
    await context.run("first", () => bump("js-sleeper/first"));
    await context.sleep("long-nap", 600);
    await context.run("never", () => bump("js-sleeper/never"));
  }),
  "/js-parallel": serve(async (context) => {
    const [a, b, c] = await Promise.all([
      context.run("branch-a", () => bump("js-parallel/a") && "A"),
      context.run("branch-b", () => bump("js-parallel/b") && "B"),
      context.run("branch-c", () => bump("js-parallel/c") && "C"),
    ]);
    await context.run("joined", () => bump("js-parallel/joined") && a + b + c);
  }),
  "/js-wait": serve(async (context) => {
    const { eventId, timeout } = context.requestPayload;
    await context.run("before-wait", () => bump(`js-wait/${eventId}/before`));
    const event = await context.waitForEvent("wait-for-it", eventId, { timeout });
    await context.run("after-wait", () => bump(`js-wait/${eventId}/after`) && event);
  }),
  "/js-invoke-parent": serve(async (context) => {
    await context.run("before-invoke", () => bump("js-invoke-parent/before"));
    const result = await context.invoke("call-child", { workflow: invokedChild, body: { n: 21 } });
    await context.run("after-invoke", () => bump("js-invoke-parent/after") && result);
  }),
  "/js-invoke-child": serve(invokedChild.routeFunction),
  "/js-invoke-failing-parent": serve(async (context) => {
    const result = await context.invoke("call-failing-child", { workflow: failingChild, body: {} });
    await context.run("after-failed-invoke", () => bump("js-invoke-failing-parent/after") && result);
  }),
  "/js-invoke-failing-child": serve(failingChild.routeFunction),
  "/js-retry-after": serve(async (context) => {
    await context.run("busy-once", () => {
      if (bump("js-retry-after/busy-once") === 1) {
        throw new WorkflowRetryAfterError("come back in 2 s", 2);
      }
      return "done";
    });
  }),
  // A later step that is always busy: how often it is tried is the trigger's `retries` (the
  // SDK publishes the step without Upstash-Retries; WF_TriggerOnConfig).
  "/js-busy-later": serve(async (context) => {
    await context.run("fine-first", () => bump("js-busy-later/fine-first"));
    await context.run("always-busy", () => {
      bump("js-busy-later/always-busy");
      throw new WorkflowRetryAfterError("busy", 1);
    });
  }),
  "/js-failing": serve(async (context) => {
    await context.run("fails", () => {
      bump("js-failing/fails");
      throw new Error("always");
    });
  }),
  "/js-non-retryable": serve(async (context) => {
    await context.run("refuse", () => {
      bump("js-non-retryable/refuse");
      throw new WorkflowNonRetryableError("not this one");
    });
  }),
};

const server = http.createServer(async (req, res) => {
  const path = req.url.split("?")[0];
  if (req.method === "GET" && path === "/counts") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(counts));
    return;
  }
  if (req.method === "GET" && path === "/failures") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(failureCalls));
    return;
  }
  if (req.method === "POST" && path === "/failure-sink") {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    failureCalls.push({ body: Buffer.concat(chunks).toString(), signed: Boolean(req.headers["upstash-signature"]) });
    res.writeHead(200);
    res.end();
    return;
  }
  if (req.method === "POST" && control[path]) {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    try {
      const result = await control[path](JSON.parse(Buffer.concat(chunks).toString() || "{}"));
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(result ?? {}));
    } catch (error) {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: String(error) }));
    }
    return;
  }
  const workflow = workflows[path];
  if (!workflow) {
    res.writeHead(404);
    res.end();
    return;
  }
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    headers.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  const request = new Request(`http://127.0.0.1:${server.address().port}${req.url}`, {
    method: req.method,
    headers,
    body: req.method === "GET" ? undefined : Buffer.concat(chunks),
  });
  const response = await workflow.handler(request);
  const responseHeaders = Object.fromEntries(response.headers.entries());
  res.writeHead(response.status, responseHeaders);
  res.end(Buffer.from(await response.arrayBuffer()));
});

server.listen(0, "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + "\n");
});
