// Small shared pieces: status badges, relative times, errors where the user acted, dialogs.
import { html, useEffect, useRef, useState } from "./html.js";

// A past event (`future` false) never reads "in …": its timestamp comes from the relay's clock,
// which may run a little ahead of the browser's, so "ahead" means "just now". Only times that
// are meant to lie ahead (expiries, next runs: `future` true) say "in …".
export function relative(ms, now = Date.now(), { future = false } = {}) {
  if (!ms) return "never";
  const s = Math.round((now - ms) / 1000);
  if (s < 0 && future) {
    const ahead = -s;
    if (ahead < 60) return `in ${ahead}s`;
    if (ahead < 3600) return `in ${Math.floor(ahead / 60)}m`;
    if (ahead < 86400) return `in ${Math.floor(ahead / 3600)}h`;
    return `in ${Math.floor(ahead / 86400)}d`;
  }
  if (s < 5) return "just now";
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

export function useNow(periodMs = 5000) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), periodMs);
    return () => clearInterval(timer);
  }, [periodMs]);
  return now;
}

export function Status({ value }) {
  return html`<span class=${`badge status-${value}`}><span class="dot" aria-hidden="true"></span>${value}</span>`;
}

// `future`: the time is meant to lie ahead (an expiry, a next run), so it may say "in …".
export function Time({ ms, now, future = false }) {
  return html`<time datetime=${ms ? new Date(ms).toISOString() : ""} title=${ms ? new Date(ms).toLocaleString() : ""}>${relative(ms, now, { future })}</time>`;
}

export function ErrorText({ error }) {
  if (!error) return null;
  return html`<p class="error" role="alert">${error}</p>`;
}

export function Empty({ children }) {
  return html`<div class="empty">${children}</div>`;
}

export function Json({ value }) {
  return html`<pre class="json">${JSON.stringify(value, null, 2)}</pre>`;
}

let serial = 0;

// A modal dialog (the native <dialog>: focus is trapped, Esc closes it). On close, focus goes
// back to the control that opened it, so a keyboard user carries on where they were.
export function Dialog({ title, onClose, children }) {
  const ref = useRef(null);
  const opener = useRef(document.activeElement);
  const titleId = useRef(`dialog-${(serial += 1)}`).current;
  const close = useRef(onClose);
  close.current = onClose;
  useEffect(() => {
    const dialog = ref.current;
    const from = opener.current;
    if (dialog && !dialog.open) dialog.showModal();
    const cancel = (event) => { event.preventDefault(); close.current(); };
    dialog.addEventListener("cancel", cancel);
    return () => {
      dialog.removeEventListener("cancel", cancel);
      if (dialog.open) dialog.close();
      restoreFocus(from);
    };
  }, []);
  return html`<dialog ref=${ref} class="dialog sheet" aria-labelledby=${titleId}>
    <header><h2 id=${titleId}>${title}</h2><button class="icon" aria-label="Close" onClick=${onClose}>×</button></header>
    ${children}
  </dialog>`;
}

// The opener may have been re-rendered away meanwhile (a list row replaced): then focus the
// page's main region rather than let it fall to <body>.
function restoreFocus(element) {
  queueMicrotask(() => {
    if (element && element.isConnected && typeof element.focus === "function") element.focus();
    else document.getElementById("main")?.focus();
  });
}

export function Confirm({ title, message, confirmLabel, onConfirm, onClose, danger }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  async function go() {
    setBusy(true);
    setError(null);
    try { await onConfirm(); onClose(); } catch (e) { setError(e.message); setBusy(false); }
  }
  return html`<${Dialog} title=${title} onClose=${onClose}>
    <p>${message}</p>
    <${ErrorText} error=${error} />
    <div class="actions">
      <button onClick=${onClose}>Cancel</button>
      <button class=${danger ? "danger" : "primary"} disabled=${busy} onClick=${go}>${confirmLabel}</button>
    </div>
  <//>`;
}

// Tabs after the WAI-ARIA pattern: one tab stop for the list (the selected tab), arrow keys
// (and Home/End) move between tabs and select them; the panel holds `children`.
//   <${Tabs} id="config" label="Config sections" tabs=${[{ id, title }]} selected=${id}
//            onSelect=${(id) => …}>…the selected tab's content…<//>
export function Tabs({ id, label, tabs, selected, onSelect, children }) {
  const list = useRef(null);
  function onKeyDown(event) {
    const index = tabs.findIndex((t) => t.id === selected);
    const next = {
      ArrowRight: index + 1, ArrowDown: index + 1, ArrowLeft: index - 1, ArrowUp: index - 1,
      Home: 0, End: tabs.length - 1,
    }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    const tab = tabs[(next + tabs.length) % tabs.length];
    onSelect(tab.id);
    list.current?.querySelector(`#${CSS.escape(`${id}-tab-${tab.id}`)}`)?.focus();
  }
  return html`<div class="tabs" role="tablist" aria-label=${label} ref=${list} onKeyDown=${onKeyDown}>
      ${tabs.map((t) => html`<button type="button" role="tab" key=${t.id} id=${`${id}-tab-${t.id}`}
        aria-selected=${t.id === selected ? "true" : "false"} aria-controls=${`${id}-panel`}
        tabIndex=${t.id === selected ? 0 : -1} onClick=${() => onSelect(t.id)}>${t.title}</button>`)}
    </div>
    <div role="tabpanel" id=${`${id}-panel`} aria-labelledby=${`${id}-tab-${selected}`} tabIndex="0"
         class="tabpanel">${children}</div>`;
}

// Run an async action, keeping its error next to the control that started it.
export function useAction() {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  async function run(fn) {
    setError(null);
    setBusy(true);
    try { return await fn(); } catch (e) { setError(e.message); return undefined; } finally { setBusy(false); }
  }
  return { error, busy, run, setError };
}

export function lineDiff(before, after) {
  // Longest-common-subsequence line diff: enough for config documents of a few hundred lines.
  const a = before.split("\n");
  const b = after.split("\n");
  const m = a.length;
  const n = b.length;
  const table = Array.from({ length: m + 1 }, () => new Array(n + 1).fill(0));
  for (let i = m - 1; i >= 0; i -= 1) {
    for (let j = n - 1; j >= 0; j -= 1) {
      table[i][j] = a[i] === b[j] ? table[i + 1][j + 1] + 1 : Math.max(table[i + 1][j], table[i][j + 1]);
    }
  }
  const out = [];
  let i = 0;
  let j = 0;
  while (i < m && j < n) {
    if (a[i] === b[j]) { out.push([" ", a[i]]); i += 1; j += 1; }
    else if (table[i + 1][j] >= table[i][j + 1]) { out.push(["-", a[i]]); i += 1; }
    else { out.push(["+", b[j]]); j += 1; }
  }
  while (i < m) { out.push(["-", a[i]]); i += 1; }
  while (j < n) { out.push(["+", b[j]]); j += 1; }
  return out;
}
