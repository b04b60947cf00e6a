// Config: the steward config editor (validated, versioned, with history and diffs), agent
// profiles and spawn policies.
import { ApiError, del, get, put } from "../api.js";
import { html, useEffect, useRef, useState } from "../html.js";
import { useStore } from "../store.js";
import { toast } from "../toast.js";
import { Confirm, Empty, ErrorText, Time, lineDiff, useAction, useNow } from "../ui.js";

const SECTIONS = [
  { id: "steward", title: "Steward config" },
  { id: "profiles", title: "Agent profiles" },
  { id: "policies", title: "Spawn policies" },
];

export function Config({ can }) {
  const [section, setSection] = useState("steward");
  // Tabs follow the arrow keys (and Home/End), focus moving with the selection.
  function onKeyDown(event) {
    const index = SECTIONS.findIndex((s) => s.id === section);
    const moves = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: SECTIONS.length - 1 };
    if (!(event.key in moves)) return;
    event.preventDefault();
    const next = SECTIONS[(moves[event.key] + SECTIONS.length) % SECTIONS.length];
    setSection(next.id);
    document.getElementById(`tab-${next.id}`)?.focus();
  }
  return html`<section>
    <div class="tabs" role="tablist" aria-label="Config sections" onKeyDown=${onKeyDown}>${SECTIONS.map((s) => html`<button
      role="tab" id=${`tab-${s.id}`} aria-controls=${`panel-${s.id}`} tabindex=${s.id === section ? 0 : -1}
      aria-selected=${s.id === section ? "true" : "false"} onClick=${() => setSection(s.id)}>${s.title}</button>`)}</div>
    <div role="tabpanel" id=${`panel-${section}`} aria-labelledby=${`tab-${section}`}>
    ${section === "steward" && html`<${Editor} namespace="steward" entryKey="global" can=${can} />`}
    ${section === "profiles" && html`<${Collection} namespace="agent-profiles" noun="agent profile" can=${can}
      saveVia=${(name, value, expectedVersion) => put(`/api/agent-profiles/${encodeURIComponent(name)}`, { ...value, expectedVersion })}
      template=${{ provider: "claude", effort: "medium", approval: "guarded" }} />`}
    ${section === "policies" && html`<${Collection} namespace="spawn-policies" noun="spawn policy" can=${can}
      template=${{ provider: "claude", providerArgs: [] }} />`}
    </div>
  </section>`;
}

function pretty(value) { return JSON.stringify(value ?? {}, null, 2); }

// Edits one config entry through the versioned config API: the save carries the version it
// was based on, so a concurrent change is reported instead of silently overwritten.
function Editor({ namespace, entryKey, can, onDeleted, saveVia, noun }) {
  const s = useStore();
  const now = useNow(30000);
  const [entry, setEntry] = useState(null);
  const [text, setText] = useState("");
  const [history, setHistory] = useState([]);
  const [diffOf, setDiffOf] = useState(null);
  const [saved, setSaved] = useState(null);
  const [dirty, setDirty] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const action = useAction();
  const path = `/api/config/${namespace}/${encodeURIComponent(entryKey)}`;
  // resetText: show the stored value — unless the user has edits in progress (never
  // overwrite typing with a background load; "Reload" discards edits explicitly).
  async function load(resetText) {
    try {
      const current = await get(path);
      // While the user edits, keep the version their edit is based on: saving then
      // reports the conflict instead of silently overwriting the newer version.
      if (!dirtyRef.current) setEntry(current);
      if (resetText && !dirtyRef.current) setText(pretty(current.value));
      setHistory(await get(`${path}/history`));
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        if (!dirtyRef.current) setEntry({ version: 0, value: {} });
        if (resetText && !dirtyRef.current) setText(pretty({}));
        setHistory([]);
      } else action.setError(e.message);
    }
  }
  const dirtyRef = useRef(false);
  dirtyRef.current = dirty;
  const discard = () => { dirtyRef.current = false; setDirty(false); return load(true); };
  useEffect(() => { load(true); }, [namespace, entryKey]);
  useEffect(() => { if (entry) load(false); }, [s.configVersion]);
  let parsed;
  let invalid = null;
  try {
    parsed = JSON.parse(text || "null");
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) invalid = "The value must be a JSON object.";
  } catch (e) { invalid = `Not valid JSON: ${e.message}`; }
  async function save() {
    setSaved(null);
    // Both paths carry the version the edit was based on: a concurrent change is a 409.
    const reply = await action.run(() => (saveVia
      ? saveVia(entryKey, parsed, entry.version)
      : put(path, { value: parsed, expectedVersion: entry.version })));
    if (reply) {
      const text = `Saved ${namespace}/${entryKey}, version ${reply.version}.`;
      setSaved(`Saved version ${reply.version}.`);
      toast({ kind: "ok", text, key: `config-${namespace}-${entryKey}` });
      await discard();
    }
  }
  const writable = can("config:write");
  const stale = entry && history[0] && history[0].version > entry.version;
  return html`<div class="editor">
    <p class="hint">${entry ? (entry.version ? html`Version <strong>${entry.version}</strong>, updated <${Time} ms=${entry.updatedAt} now=${now} /> by ${entry.updatedBy ?? "—"}` : "Not set yet.") : "Loading…"}
      ${stale && html` <span class="error">A newer version exists.</span>`}</p>
    <textarea class="code" rows="14" spellcheck="false" aria-label=${`${namespace}/${entryKey} JSON`}
      value=${text} onInput=${(e) => { setText(e.target.value); setDirty(true); setSaved(null); }} readOnly=${!writable}></textarea>
    ${invalid && html`<p class="error" role="alert">${invalid}</p>`}
    <${ErrorText} error=${action.error} />
    ${saved && html`<p class="ok" role="status">${saved}</p>`}
    <div class="actions">
      ${writable && html`<button class="primary" disabled=${Boolean(invalid) || action.busy || !entry} onClick=${save}>Save</button>`}
      ${writable && onDeleted && entry?.version > 0 && html`<button class="danger" onClick=${() => setDeleting(true)}>Delete</button>`}
      <button onClick=${discard}>${dirty ? "Discard edits" : "Reload"}</button>
    </div>
    ${deleting && html`<${Confirm} danger title=${`Delete the ${noun ?? "entry"} ${entryKey}?`}
      message=${`Version ${entry.version} is deleted; its history is kept. Spawns that name it will fail until it is recreated.`}
      confirmLabel="Delete" onClose=${() => setDeleting(false)}
      onConfirm=${async () => {
        await del(`${path}?expectedVersion=${entry.version}`);
        toast({ kind: "ok", text: `Deleted the ${noun ?? "entry"} ${entryKey}.`, key: `config-${namespace}-${entryKey}` });
        onDeleted();
      }} />`}
    ${history.length > 0 && html`<h3>History</h3><ol class="history">${history.map((rev, index) => html`<li key=${rev.version}>
      <button class="link" onClick=${() => setDiffOf(diffOf === rev.version ? null : rev.version)}>
        v${rev.version}${rev.deleted ? " (deleted)" : ""}</button> <${Time} ms=${rev.updatedAt} now=${now} /> ${rev.updatedBy ?? ""}
      ${diffOf === rev.version && html`<${Diff} before=${history[index + 1]?.value} after=${rev.value} />`}
    </li>`)}</ol>`}
  </div>`;
}

function Diff({ before, after }) {
  const lines = lineDiff(before === undefined ? "" : pretty(before), pretty(after));
  return html`<pre class="diff">${lines.map(([mark, line]) => html`<span class=${mark === "+" ? "add" : mark === "-" ? "del" : ""}>${mark} ${line}\n</span>`)}</pre>`;
}

function Collection({ namespace, noun, can, template, saveVia }) {
  const s = useStore();
  const [entries, setEntries] = useState(null);
  const [open, setOpen] = useState(null);
  const [name, setName] = useState("");
  const [error, setError] = useState(null);
  const load = () => get(`/api/config/${namespace}`).then(setEntries).catch((e) => setError(e.message));
  useEffect(() => { load(); }, [namespace, s.configVersion]);
  async function create(event) {
    event.preventDefault();
    setError(null);
    try {
      if (saveVia) await saveVia(name, template, 0);
      else await put(`/api/config/${namespace}/${encodeURIComponent(name)}`, { value: template, expectedVersion: 0 });
      setOpen(name); setName(""); load();
    } catch (e) { setError(e.message); }
  }
  return html`<div class="with-panel">
    <div class="list">
      ${can("config:write") && html`<form class="inline" onSubmit=${create}>
        <input aria-label="New entry name" placeholder="new name" value=${name} onInput=${(e) => setName(e.target.value)} required />
        <button type="submit">Add</button></form>`}
      <${ErrorText} error=${error} />
      ${entries && entries.length === 0 && html`<${Empty}>None yet.<//>`}
      <ul class="plain entries">${(entries ?? []).map((entry) => html`<li key=${entry.key}>
        <button class="link" onClick=${() => setOpen(entry.key)}>${entry.key}</button> <span class="sub">v${entry.version}</span></li>`)}</ul>
    </div>
    ${open && html`<aside class="panel"><header><h2>${open}</h2>
      <button class="icon" aria-label="Close" onClick=${() => setOpen(null)}>×</button></header>
      <${Editor} key=${open} namespace=${namespace} entryKey=${open} noun=${noun} can=${can} saveVia=${saveVia} onDeleted=${() => { setOpen(null); load(); }} /></aside>`}
  </div>`;
}
