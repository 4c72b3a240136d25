// api.js - the dashboard's calls to the symbi API: the key kept in
// sessionStorage (never a URL or cookie), every call marked as the
// dashboard's (X-Symbi-Client: ui, recorded as actor "ui"), and the
// polling of the server's change sequence for live updates.
const KEY_NAME = "symbi.apiKey";

export function getKey() {
  return sessionStorage.getItem(KEY_NAME);
}

export function setKey(key) {
  if (key) sessionStorage.setItem(KEY_NAME, key);
  else sessionStorage.removeItem(KEY_NAME);
}

export class AuthError extends Error {}

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export async function api(method, path, body) {
  const headers = { "X-Symbi-Client": "ui", Accept: "application/json" };
  const key = getKey();
  if (key) headers.Authorization = "Bearer " + key;
  const init = { method, headers, cache: "no-store", credentials: "omit" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const r = await fetch(path, init);
  const text = await r.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (r.status === 401) throw new AuthError((data && data.error) || "unauthorized");
  if (!r.ok) throw new ApiError(r.status, data);
  return data;
}

export const get = (path) => api("GET", path);
export const post = (path, body) => api("POST", path, body === undefined ? {} : body);
export const del = (path) => api("DELETE", path);

export function enc(s) {
  return encodeURIComponent(s);
}

// Calls onChange when the server's change sequence moves; at most one
// refresh per minGapMs. Returns a function that stops watching.
export function watch(onChange, onState, intervalMs = 1000, minGapMs = 1500) {
  let last = null;
  let timer = null;
  let stopped = false;
  let lastRefresh = 0;
  let pending = false;
  async function tick() {
    try {
      const c = await get("/api/v1/changes");
      onState(true);
      if (last !== null && c.change_seq !== last) pending = true;
      last = c.change_seq;
      if (pending && Date.now() - lastRefresh >= minGapMs) {
        pending = false;
        lastRefresh = Date.now();
        await onChange();
      }
    } catch (e) {
      onState(false, e);
    }
    if (!stopped) timer = setTimeout(tick, intervalMs);
  }
  timer = setTimeout(tick, intervalMs);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
