// Building DOM nodes without innerHTML (no markup injection from API data) and formatting values.

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === "className") {
      node.className = value;
    } else if (name in node && typeof value !== "string") {
      node[name] = value;
    } else {
      node.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(node, ...children) {
  node.replaceChildren();
  append(node, children);
}

export function time(ms) {
  if (!ms) return "";
  const date = new Date(Number(ms));
  return h("time", { datetime: date.toISOString(), title: date.toISOString() }, date.toLocaleString());
}

// QStash sends response bodies in log entries as base64; show them as text when they are UTF-8.
export function decodeBase64(value) {
  if (!value) return "";
  try {
    const bytes = Uint8Array.from(atob(value), (c) => c.charCodeAt(0));
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return value;
  }
}

export function stateBadge(state) {
  if (!state) return "";
  const kind = String(state || "").toLowerCase().replace(/[^a-z_]/g, "");
  return h("span", { className: `state state-${kind}` }, state || "");
}

// A table whose rows are re-rendered only when the data changed, so polling neither flickers nor
// steals focus; the focused control is found again by its data-key after a change.
export function table({ caption, columns, rows, empty }) {
  if (!rows.length) return h("p", { className: "empty" }, empty);
  return h(
    "table",
    {},
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, rows),
  );
}

export function renderKeepingFocus(container, fingerprint, build) {
  if (container.dataset.fingerprint === fingerprint) return;
  const active = document.activeElement;
  const key = active && container.contains(active) ? active.dataset.key : null;
  container.dataset.fingerprint = fingerprint;
  replace(container, build());
  if (key) container.querySelector(`[data-key="${CSS.escape(key)}"]`)?.focus();
}
