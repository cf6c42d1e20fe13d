// The dashboard's only door to data: the /v2 JSON API with the token in the Authorization header.
// The token lives in sessionStorage (this tab only, gone when it closes): never in a URL or cookie.

const TOKEN_KEY = "ferry.token";

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `the API answered ${status}`);
    this.status = status;
    this.body = body;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function signIn(value) {
  sessionStorage.setItem(TOKEN_KEY, value);
}

export function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
}

// Exchanges the one-time login code `ferry dev` put in the URL fragment for the token.
export async function redeemLoginCode(code) {
  const response = await fetch("/dashboard/session", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ code }),
    credentials: "omit",
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, body);
  signIn(body.token);
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

export async function call(method, path, { params, body, headers } = {}) {
  const response = await fetch(path + query(params), {
    method,
    headers: { Authorization: `Bearer ${token()}`, ...(headers || {}) },
    body,
    credentials: "omit",
    cache: "no-store",
  });
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { error: text };
  }
  if (response.status === 401) {
    signOut();
    window.dispatchEvent(new Event("ferry:token-refused"));
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export const get = (path, params) => call("GET", path, { params });

export function sendJson(method, path, value) {
  return call(method, path, {
    body: JSON.stringify(value),
    headers: { "Content-Type": "application/json" },
  });
}

// For APIs a server may not have yet: null when the route answers 404, so the view can say so.
export async function getIfServed(path, params) {
  try {
    return await get(path, params);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}
