// The JSON API, with the token the user signed in with (kept for this browser session only).
const KEY = "relay.token";

export const session = {
  token: () => sessionStorage.getItem(KEY),
  signIn: (token) => sessionStorage.setItem(KEY, token),
  signOut: () => sessionStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// The relay did not answer, or answered 503 (a standby without an active, a store down):
// the failover check (failover.js) listens, to look for the active relay elsewhere.
const troubleListeners = new Set();
export function onTrouble(fn) { troubleListeners.add(fn); return () => troubleListeners.delete(fn); }
export function trouble() { troubleListeners.forEach((fn) => fn()); }

const listeners = new Set();
export function onUnauthorized(fn) { listeners.add(fn); return () => listeners.delete(fn); }
// The token no longer works (a 401, or the live stream's `signed-out`): everyone signs out.
export function unauthorized(message) { listeners.forEach((fn) => fn(message)); }

// `headers`: extra ones, e.g. If-Match on a versioned write.
export async function api(path, { method = "GET", body, token, headers: extra } = {}) {
  const headers = { ...extra, Authorization: `Bearer ${token ?? session.token() ?? ""}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    trouble();
    throw new ApiError(0, "the relay did not answer (network error)");
  }
  if (response.status === 503) trouble();
  let data = null;
  try { data = await response.json(); } catch { data = null; }
  if (!response.ok) {
    const message = (data && data.error) || `${response.status} ${response.statusText}`;
    if (response.status === 401 && token === undefined) unauthorized(message);
    throw new ApiError(response.status, message);
  }
  return data;
}

export const get = (path) => api(path);
export const post = (path, body) => api(path, { method: "POST", body: body ?? {} });
export const put = (path, body) => api(path, { method: "PUT", body });
export const patch = (path, body) => api(path, { method: "PATCH", body });
export const del = (path) => api(path, { method: "DELETE" });

// Save what an authenticated URL answers (an artifact's bytes) as a file: a plain link cannot
// send the bearer token, so the bytes are fetched as a blob and handed to the browser to save.
export async function download(path, filename) {
  let response;
  try {
    response = await fetch(path, { headers: { Authorization: `Bearer ${session.token() ?? ""}` } });
  } catch {
    throw new ApiError(0, "the relay did not answer (network error)");
  }
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try { message = (await response.json()).error || message; } catch { /* not JSON */ }
    if (response.status === 401) unauthorized(message);
    throw new ApiError(response.status, message);
  }
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // The browser has read the URL once the click returns; free it a little later.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
