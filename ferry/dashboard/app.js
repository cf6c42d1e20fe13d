// The dashboard shell: sign-in, the hash routes of the views, and the polling that keeps the
// visible view live (each view refreshes itself from the API every POLL_MS).

import { ApiError, redeemLoginCode, signIn, signOut, token } from "./api.js";
import { clear, report } from "./feedback.js";
import * as dlq from "./view-dlq.js";
import * as messages from "./view-messages.js";
import * as queues from "./view-queues.js";
import * as schedules from "./view-schedules.js";
import * as send from "./view-send.js";
import * as urlGroups from "./view-url-groups.js";
import * as workflows from "./view-workflows.js";

const POLL_MS = 2000;
const ROUTES = {
  messages: messages.list,
  message: messages.detail,
  dlq: dlq.list,
  schedules: schedules.list,
  queues: queues.list,
  "url-groups": urlGroups.list,
  workflows: workflows.list,
  workflow: workflows.detail,
  send: send.form,
};

let current = null;
let timer = null;

function route() {
  const [name, ...rest] = location.hash.replace(/^#/, "").split("/");
  return { name: ROUTES[name] ? name : "messages", arg: decodeURIComponent(rest.join("/")) };
}

function highlight(name) {
  const section = name === "message" ? "messages" : name === "workflow" ? "workflows" : name;
  for (const link of document.querySelectorAll("#views a")) {
    if (link.getAttribute("href") === `#${section}`) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

async function refresh() {
  clearTimeout(timer);
  const view = current;
  if (view && view.refresh && !document.hidden) {
    try {
      await view.refresh();
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401)) report(error);
    }
  }
  if (view === current) timer = setTimeout(refresh, POLL_MS);
}

function show() {
  if (!token()) return showSignIn();
  document.getElementById("sign-in").hidden = true;
  document.getElementById("views").hidden = false;
  document.getElementById("sign-out").hidden = false;
  const { name, arg } = route();
  highlight(name);
  clear();
  const root = document.getElementById("view");
  root.replaceChildren();
  current = ROUTES[name](root, arg);
  document.title = `${current.title} · Ferry dashboard`;
  refresh();
}

function showSignIn() {
  clearTimeout(timer);
  current = null;
  document.getElementById("view").replaceChildren();
  document.getElementById("views").hidden = true;
  document.getElementById("sign-out").hidden = true;
  document.getElementById("sign-in").hidden = false;
  document.title = "Sign in · Ferry dashboard";
}

async function start() {
  const login = location.hash.match(/^#login=([A-Za-z0-9._-]+)$/);
  if (login) {
    // Drop the code from the address bar and history before anything else can read it.
    history.replaceState(null, "", `${location.pathname}#messages`);
    try {
      await redeemLoginCode(login[1]);
    } catch (error) {
      report(`Could not sign in with the link: ${error.message}`);
    }
  }
  document.getElementById("sign-in-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = document.getElementById("token");
    signIn(input.value.trim());
    input.value = "";
    show();
  });
  document.getElementById("sign-out").addEventListener("click", () => {
    signOut();
    showSignIn();
  });
  window.addEventListener("ferry:token-refused", () => {
    showSignIn();
    report("Signed out: the API refused the token (401). Sign in with a valid API token.");
  });
  window.addEventListener("hashchange", () => {
    show();
    // A new view: move focus to its content, so the next Tab continues there, not in the menu.
    document.getElementById("main").focus();
  });
  document.addEventListener("visibilitychange", () => document.hidden || refresh());
  show();
}

start();
