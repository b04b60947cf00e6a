// Toasts: the outcome of an act, shown wherever the user is now. A toast with `key` replaces the
// one with the same key (a command's "queued" becomes its "succeeded"), so one act is one toast.
import { html, useEffect, useState } from "./html.js";

const listeners = new Set();
let toasts = [];
let serial = 0;
const TIMEOUT_MS = { ok: 5000, info: 6000, error: 12000 };

function publish() { listeners.forEach((fn) => fn(toasts)); }

function dismiss(id) {
  toasts = toasts.filter((t) => t.id !== id);
  publish();
}

// kind: "ok" | "info" | "error"; sticky: stays until dismissed (progress that will be replaced).
export function toast({ kind = "info", text, key, sticky = false }) {
  serial += 1;
  const id = serial;
  const rest = key === undefined ? toasts : toasts.filter((t) => t.key !== key);
  toasts = [...rest, { id, key, kind, text }].slice(-5);
  publish();
  if (!sticky) setTimeout(() => dismiss(id), TIMEOUT_MS[kind] ?? 6000);
  return id;
}

export function Toasts() {
  const [list, setList] = useState(toasts);
  useEffect(() => { listeners.add(setList); return () => listeners.delete(setList); }, []);
  return html`<div class="toasts" role="status" aria-live="polite">
    ${list.map((t) => html`<div key=${t.id} class=${`toast toast-${t.kind}`}>
      <span>${t.text}</span>
      <button class="icon" aria-label="Dismiss" onClick=${() => dismiss(t.id)}>×</button>
    </div>`)}
  </div>`;
}
