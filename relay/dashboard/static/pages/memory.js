// Memory (#/memory): search the memories the token sees (q, scope, type, tags; a cursor for
// more), open one to edit it under its version (If-Match: a concurrent change is a 409 with the
// server's message and a reload, as the config editor does), quarantine and lift (operators),
// and preview what the broker would serve an agent now. Memory events carry no body, so a
// change re-runs the search rather than patching rows from the event.
import { ApiError, api, get, post } from "../api.js";
import { html, useEffect, useRef, useState } from "../html.js";
import { store, upsertAll, useStore } from "../store.js";
import { toast } from "../toast.js";
import { Confirm, Empty, ErrorText, Tabs, Time, useAction, useNow } from "../ui.js";

const enc = encodeURIComponent;
const SCOPES = ["agent", "repo", "global"];
const TYPES = ["user", "feedback", "project", "reference"];
const CONFIDENCES = ["low", "medium", "high"];
const PAGE = 50;

const isOperator = (me) => Boolean(me.root || me.role === "dashboard");
const splitTags = (text) => text.split(/[\s,]+/).filter(Boolean);
// PATCH and DELETE carry the version the edit was based on (spec/memory.md "Versions").
const withVersion = (version) => ({ "If-Match": `"${version}"` });

// Run `fn` at most once per `ms` after `key` changes: a burst of events costs one search.
function useThrottled(fn, key, ms = 300) {
  const latest = useRef(fn);
  latest.current = fn;
  const timer = useRef(null);
  const first = useRef(true);
  useEffect(() => {
    if (first.current) { first.current = false; return; }
    if (timer.current) return;
    timer.current = setTimeout(() => { timer.current = null; latest.current(); }, ms);
  }, [key]);
  useEffect(() => () => clearTimeout(timer.current), []);
}

export function Memory({ me, can }) {
  const [tab, setTab] = useState("memories");
  if (!can("memory:read")) {
    return html`<${Empty}>Your token cannot read memories (needs memory:read).<//>`;
  }
  return html`<section class="memory-page">
    <${Tabs} id="memory" label="Memory sections" selected=${tab} onSelect=${setTab}
      tabs=${[{ id: "memories", title: "Memories" }, { id: "preview", title: "Preview context" }]}>
      ${tab === "preview" ? html`<${Preview} />` : html`<${Memories} me=${me} can=${can} />`}
    <//>
  </section>`;
}

export function RedactionBadge({ state }) {
  return html`<span class=${`badge redaction-${state}`}>${state}</span>`;
}

function queryString(filters, extra = {}) {
  const query = new URLSearchParams();
  if (filters.q.trim()) query.set("q", filters.q.trim());
  for (const key of ["scope", "type"]) if (filters[key]) query.set(key, filters[key]);
  for (const tag of splitTags(filters.tags)) query.append("tag", tag);
  for (const [key, value] of Object.entries(extra)) if (value) query.set(key, value);
  return query.toString();
}

// -- the search and its results ---------------------------------------------------------------

function Memories({ me, can }) {
  const s = useStore();
  const now = useNow();
  const [draft, setDraft] = useState({ q: "", scope: "", type: "", tags: "" });
  const [filters, setFilters] = useState(draft);
  const [items, setItems] = useState(null);
  const [cursor, setCursor] = useState(null);
  const [error, setError] = useState(null);
  const [openId, setOpenId] = useState(null);
  const count = useRef(0);
  count.current = items?.length ?? 0;
  // `keep`: a live refresh re-reads as many rows as are shown, so "load more" pages stay.
  function load(keep = false) {
    const limit = keep ? Math.min(200, Math.max(PAGE, count.current)) : PAGE;
    get(`/api/memory?${queryString(filters, { limit: String(limit) })}`)
      .then((page) => { setItems(page.items); setCursor(page.nextCursor ?? null); setError(null); })
      .catch((e) => setError(e.message));
  }
  useEffect(() => load(false), [filters]);
  useThrottled(() => load(true), s.memoryVersion);
  function more() {
    get(`/api/memory?${queryString(filters, { cursor, limit: String(PAGE) })}`)
      .then((page) => { setItems([...(items ?? []), ...page.items]); setCursor(page.nextCursor ?? null); })
      .catch((e) => setError(e.message));
  }
  const set = (key) => (event) => setDraft({ ...draft, [key]: event.target.value });
  function submit(event) {
    event.preventDefault();
    setFilters({ ...draft });
  }
  return html`<div class="with-panel">
    <div class="list">
      <form class="toolbar memory-search" role="search" aria-label="Search memories" onSubmit=${submit}>
        <label class="sr-only" for="memory-q">Search text</label>
        <input id="memory-q" type="search" placeholder="Search title, body, tags" value=${draft.q} onInput=${set("q")} />
        <label for="memory-scope">Scope</label>
        <select id="memory-scope" value=${draft.scope} onChange=${set("scope")}>
          <option value="">any</option>${SCOPES.map((v) => html`<option value=${v}>${v}</option>`)}
        </select>
        <label for="memory-type">Type</label>
        <select id="memory-type" value=${draft.type} onChange=${set("type")}>
          <option value="">any</option>${TYPES.map((v) => html`<option value=${v}>${v}</option>`)}
        </select>
        <label for="memory-tags">Tags</label>
        <input id="memory-tags" placeholder="all of: tag1 tag2" value=${draft.tags} onInput=${set("tags")} />
        <button class="primary" type="submit">Search</button>
      </form>
      <${ErrorText} error=${error} />
      ${items && items.length === 0 && html`<${Empty}>No memories match.<//>`}
      ${items && items.length > 0 && html`<table class="grid as-cards memory-table">
        <caption class="sr-only">Memories</caption>
        <thead><tr><th>Memory</th><th>Scope</th><th>Type</th><th>Tags</th><th>Confidence</th>
          <th>Sensitivity</th><th>State</th><th>Served</th><th><span class="sr-only">Actions</span></th></tr></thead>
        <tbody>${items.map((m) => html`<${Row} key=${m.id} m=${m} now=${now} open=${m.id === openId}
          onOpen=${() => setOpenId(m.id)} />`)}</tbody>
      </table>`}
      ${cursor && html`<button class="more" onClick=${more}>Load more</button>`}
    </div>
    ${openId && html`<${Detail} key=${openId} id=${openId} me=${me} can=${can}
      onClose=${() => setOpenId(null)} onChanged=${() => load(true)} />`}
  </div>`;
}

function titleOf(m) {
  return m.withheld ? "(withheld)" : m.title;
}

function Row({ m, now, open, onOpen }) {
  return html`<tr data-memory=${m.id} class=${open ? "selected" : ""}>
    <td data-label="Memory">${m.withheld ? html`<span class="badge withheld">withheld</span>` : m.title}
      <div class="sub"><code>${m.id}</code> v${m.version}</div></td>
    <td data-label="Scope">${m.scope}${m.scopeKey && html`<div class="sub"><code class="scope-key">${m.scopeKey}</code></div>`}</td>
    <td data-label="Type">${m.type}</td>
    <td data-label="Tags"><span class="tags">${m.tags.map((t) => html`<span class="tag" key=${t}>${t}</span>`)}</span></td>
    <td data-label="Confidence">${m.confidence}</td>
    <td data-label="Sensitivity">${m.sensitivity}</td>
    <td data-label="State"><${RedactionBadge} state=${m.redactionState} /></td>
    <td data-label="Served"><span class="serve-count">${m.serveCount}</span> ${m.lastServedAt ? html`<${Time} ms=${m.lastServedAt} now=${now} />` : html`<span class="sub">never</span>`}</td>
    <td data-label="Actions"><button aria-pressed=${open ? "true" : "false"}
      aria-label=${`Open ${titleOf(m)} (${m.id})`} onClick=${onOpen}>Open</button></td>
  </tr>`;
}

// -- one memory: edit under its version, delete, quarantine -------------------------------------

function formOf(m) {
  return {
    title: m.title ?? "", body: m.body ?? "", tags: m.tags.join(" "), type: m.type,
    confidence: m.confidence, sensitivity: m.sensitivity, visibility: m.visibility,
  };
}

function Detail({ id, me, can, onClose, onChanged }) {
  const s = useStore();
  const [memory, setMemory] = useState(null);
  const [form, setForm] = useState(null);
  const [dirty, setDirty] = useState(false);
  const [newer, setNewer] = useState(null);
  const [conflict, setConflict] = useState(null);
  const [deleting, setDeleting] = useState(false);
  const [saved, setSaved] = useState(null);
  const action = useAction();
  const path = `/api/memory/${enc(id)}`;
  const dirtyRef = useRef(false);
  dirtyRef.current = dirty;
  async function reload() {
    setConflict(null);
    setNewer(null);
    action.setError(null);
    try {
      const current = await get(path);
      setMemory(current);
      setForm(formOf(current));
      setDirty(false);
    } catch (e) { action.setError(e.message); }
  }
  useEffect(() => { reload(); }, [id]);
  // A change elsewhere: follow it, unless the user is editing. Then keep the version the
  // edit is based on (saving reports the conflict) and say that a newer one exists.
  useThrottled(() => {
    if (!dirtyRef.current) { reload(); return; }
    get(path).then((current) => setNewer(current.version)).catch(() => {});
  }, s.memoryVersion);
  // A write with the version the form was loaded at: a 409 keeps the edits and offers a reload.
  async function write(body, done) {
    setSaved(null);
    setConflict(null);
    const reply = await action.run(async () => {
      try {
        return await api(path, { method: "PATCH", body, headers: withVersion(memory.version) });
      } catch (e) {
        if (e instanceof ApiError && e.status === 409) setConflict(e.message);
        throw e;
      }
    });
    if (reply) {
      setMemory(reply);
      setForm(formOf(reply));
      setDirty(false);
      setNewer(null);
      setSaved(done(reply));
      toast({ kind: "ok", text: `${done(reply)}`, key: `memory-${id}` });
      onChanged();
    }
  }
  function save(event) {
    event.preventDefault();
    const body = {
      tags: splitTags(form.tags), type: form.type, confidence: form.confidence,
      sensitivity: form.sensitivity, visibility: form.visibility,
    };
    // A withheld memory's text is not ours to rewrite: only its other fields go.
    if (!memory.withheld) Object.assign(body, { title: form.title, body: form.body });
    write(body, (reply) => `Saved version ${reply.version}.`);
  }
  const writable = can("memory:write");
  const operator = isOperator(me);
  const set = (key) => (event) => { setForm({ ...form, [key]: event.target.value }); setDirty(true); };
  const heading = memory ? titleOf(memory) : id;
  // Esc closes the panel (as it does dialogs), focus going back to the page.
  function closeOnEscape(event) {
    if (event.key !== "Escape" || deleting) return;
    onClose();
    document.getElementById("main")?.focus();
  }
  return html`<aside class="panel memory-detail" aria-label=${`Memory ${id}`} onKeyDown=${closeOnEscape}>
    <header><h2>${heading}</h2><button class="icon" aria-label="Close" onClick=${onClose}>×</button></header>
    ${!memory && !action.error && html`<p class="hint">Loading…</p>`}
    ${memory && html`<dl class="facts">
      <dt>Id</dt><dd><code>${memory.id}</code></dd>
      <dt>Version</dt><dd><span data-version>${memory.version}</span>${newer > memory.version && html` <span class="error">A newer version (${newer}) exists.</span>`}</dd>
      <dt>Scope</dt><dd>${memory.scope}${memory.scopeKey && html` <code class="scope-key">${memory.scopeKey}</code>`}</dd>
      <dt>State</dt><dd><${RedactionBadge} state=${memory.redactionState} /></dd>
      <dt>Served</dt><dd>${memory.serveCount} ${memory.lastServedAt ? html`(last <${Time} ms=${memory.lastServedAt} />)` : "(never)"}</dd>
      <dt>Created by</dt><dd>${memory.createdBy}</dd>
    </dl>`}
    ${memory?.withheld && html`<p class="notice">This memory is <strong>secret</strong>: its title and body are withheld from your token.</p>`}
    ${memory && form && html`<form class="memory-form" onSubmit=${save}>
      ${!memory.withheld && html`<label for="memory-title">Title</label>
        <input id="memory-title" value=${form.title} onInput=${set("title")} readOnly=${!writable} required maxLength="200" />
        <label for="memory-body">Body</label>
        <textarea id="memory-body" rows="8" value=${form.body} onInput=${set("body")} readOnly=${!writable} required></textarea>`}
      <label for="memory-edit-tags">Tags</label>
      <input id="memory-edit-tags" value=${form.tags} onInput=${set("tags")} readOnly=${!writable} />
      <div class="memory-selects">
        <${Choice} id="memory-edit-type" label="Type" value=${form.type} options=${TYPES} onChange=${set("type")} disabled=${!writable} />
        <${Choice} id="memory-edit-confidence" label="Confidence" value=${form.confidence} options=${CONFIDENCES} onChange=${set("confidence")} disabled=${!writable} />
        <${Choice} id="memory-edit-sensitivity" label="Sensitivity" value=${form.sensitivity} options=${["normal", "secret"]} onChange=${set("sensitivity")} disabled=${!writable} />
        <${Choice} id="memory-edit-visibility" label="Visibility" value=${form.visibility} options=${["shared", "private"]} onChange=${set("visibility")} disabled=${!writable} />
      </div>
      <${ErrorText} error=${action.error} />
      ${conflict && html`<div class="notice conflict"><p>Someone changed this memory since you opened it. Reloading discards your edits.</p>
        <button type="button" onClick=${reload}>Reload the current version</button></div>`}
      ${saved && html`<p class="ok" role="status">${saved}</p>`}
      ${writable && html`<div class="actions">
        <button class="primary" type="submit" disabled=${action.busy}>Save</button>
        ${operator && (memory.redactionState === "blocked"
          ? html`<button type="button" disabled=${action.busy} onClick=${() => write({ redactionState: "clean" }, () => "Quarantine lifted.")}>Lift quarantine</button>`
          : html`<button type="button" class="danger" disabled=${action.busy} onClick=${() => write({ redactionState: "blocked" }, () => "Quarantined: hidden from agents.")}>Quarantine</button>`)}
        <button type="button" class="danger" onClick=${() => setDeleting(true)}>Delete</button>
      </div>`}
    </form>`}
    ${deleting && html`<${Confirm} danger title=${`Delete the memory ${heading}?`}
      message=${`Version ${memory.version} is deleted; if it changed meanwhile, the delete is refused.`}
      confirmLabel="Delete" onClose=${() => setDeleting(false)}
      onConfirm=${async () => {
        await api(path, { method: "DELETE", headers: withVersion(memory.version) });
        toast({ kind: "ok", text: `Deleted the memory ${heading}.`, key: `memory-${id}` });
        onChanged();
        onClose();
      }} />`}
  </aside>`;
}

function Choice({ id, label, value, options, onChange, disabled }) {
  return html`<div><label for=${id}>${label}</label>
    <select id=${id} value=${value} onChange=${onChange} disabled=${disabled}>
      ${options.map((v) => html`<option value=${v}>${v}</option>`)}
    </select></div>`;
}

// -- what the broker would serve an agent now ------------------------------------------------

function useAgents() {
  const s = useStore();
  const [error, setError] = useState(null);
  useEffect(() => {
    if (store.loaded.has("agents")) return;
    get("/api/agents").then((list) => { upsertAll(store.agents, list); store.loaded.add("agents"); })
      .catch((e) => setError(e.message));
  }, []);
  return { agents: [...s.agents.values()].sort((a, b) => a.name.localeCompare(b.name)), error };
}

function Preview() {
  const { agents, error: agentsError } = useAgents();
  const [form, setForm] = useState({ agentId: "", query: "", repoRoot: "", maxChars: "" });
  const [result, setResult] = useState(null);
  const action = useAction();
  const set = (key) => (event) => setForm({ ...form, [key]: event.target.value });
  async function run(event) {
    event.preventDefault();
    const body = { agentId: form.agentId };
    if (form.query.trim()) body.query = form.query.trim();
    if (form.repoRoot.trim()) body.repoRoot = form.repoRoot.trim();
    if (form.maxChars.trim()) body.budget = { maxChars: Number(form.maxChars) };
    const reply = await action.run(() => post("/api/memory/broker", body));
    if (reply) setResult(reply);
  }
  return html`<div class="memory-preview">
    <form class="preview-form" onSubmit=${run} aria-label="Preview context">
      <div><label for="preview-agent">Agent</label>
        <select id="preview-agent" value=${form.agentId} onChange=${set("agentId")} required>
          <option value="">Choose an agent…</option>
          ${agents.map((a) => html`<option key=${a.id} value=${a.id}>${a.name}${a.name !== a.id ? ` (${a.id})` : ""}</option>`)}
        </select></div>
      <div><label for="preview-query">Query (optional)</label>
        <input id="preview-query" value=${form.query} onInput=${set("query")} maxLength="1000" /></div>
      <div><label for="preview-repo">Repo root (optional)</label>
        <input id="preview-repo" value=${form.repoRoot} onInput=${set("repoRoot")} placeholder="/srv/repo" /></div>
      <div><label for="preview-max">Max chars (optional)</label>
        <input id="preview-max" type="number" min="200" max="200000" value=${form.maxChars} onInput=${set("maxChars")} placeholder="8000" /></div>
      <div class="preview-go">
        <button class="primary" type="submit" disabled=${action.busy || !form.agentId} aria-describedby="preview-note">Preview context</button>
        <p class="hint" id="preview-note">This is a real serving: each memory shown gets +1 on its serve count, and a "Memory served" activity is written.</p>
      </div>
    </form>
    <${ErrorText} error=${agentsError || action.error} />
    ${result && html`<section class="preview-result" aria-label="Broker context">
      <p><strong>${result.items.length}</strong> served, <span class="chars-used">${result.charsUsed}</span> chars used; ${result.omittedCount} omitted.</p>
      ${result.items.length === 0 && html`<${Empty}>Nothing the broker would serve.<//>`}
      <ol class="served">${result.items.map((item) => html`<li key=${item.id} data-memory=${item.id}>
        <div class="feed-head">${item.pinned && html`<span class="badge pinned">pinned</span>`}
          <strong>${item.title}</strong> <span class="sub">${item.scope} · ${item.type} · ${item.confidence} · ${item.chars} chars</span></div>
        <pre class="json">${item.body}</pre>
      </li>`)}</ol>
      ${result.omitted.length > 0 && html`<h3>Omitted</h3><ul class="omitted">${result.omitted.map((o) => html`<li key=${o.id}>
        <code>${o.id}</code> ${o.chars} chars — ${o.reason === "maxChars" ? "over the character budget" : "over the item limit"} (${o.reason})</li>`)}</ul>`}
    </section>`}
  </div>`;
}
