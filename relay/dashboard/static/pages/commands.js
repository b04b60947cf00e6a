// Commands: the live list, and one command's params, result and error.
import { get } from "../api.js";
import { html, useEffect, useState } from "../html.js";
import { changed, replaceAll, store, useStore } from "../store.js";
import { Empty, ErrorText, Json, Status, Time, useNow } from "../ui.js";

export function Commands() {
  const s = useStore();
  const now = useNow();
  const [status, setStatus] = useState("");
  const [open, setOpen] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    get("/api/commands?limit=500").then((list) => { replaceAll(store.commands, list); store.loaded.add("commands"); })
      .catch((e) => setError(e.message));
  }, []);
  // The newest 500 may hold few of a status: ask the relay for that status's newest too.
  useEffect(() => {
    if (!status) return;
    get(`/api/commands?limit=500&status=${encodeURIComponent(status)}`).then((list) => {
      for (const command of list) if (!store.commands.has(command.id)) store.commands.set(command.id, command);
      changed();
    }).catch((e) => setError(e.message));
  }, [status]);
  const list = [...s.commands.values()].filter((c) => !status || c.status === status)
    .sort((a, b) => b.createdAt - a.createdAt).slice(0, 500);
  const selected = open ? s.commands.get(open) : null;
  return html`<section class="with-panel">
    <div class="list">
      <div class="toolbar">
        <select aria-label="Filter by status" value=${status} onChange=${(e) => setStatus(e.target.value)}>
          <option value="">All statuses</option>
          ${["queued", "delivered", "running", "succeeded", "failed", "cancelled", "expired"].map((v) => html`<option value=${v}>${v}</option>`)}
        </select>
      </div>
      <${ErrorText} error=${error} />
      ${s.loaded.has("commands") && list.length === 0 && html`<${Empty}>No commands${status ? ` with status ${status}` : ""} yet.<//>`}
      <table class="grid as-cards commands-table">
        <thead><tr><th>Type</th><th>Status</th><th>Target</th><th>Attempts</th><th>Age</th></tr></thead>
        <tbody>${list.map((c) => html`<tr key=${c.id} class=${c.id === open ? "selected" : ""}>
          <td data-label="Type"><button class="link" onClick=${() => setOpen(c.id)}>${c.type}</button><div class="sub">${c.id}</div></td>
          <td data-label="Status"><${Status} value=${c.status} /></td>
          <td data-label="Target">${c.target}</td><td data-label="Attempts">${c.attempts}</td>
          <td data-label="Age"><${Time} ms=${c.createdAt} now=${now} /></td>
        </tr>`)}</tbody>
      </table>
    </div>
    ${selected && html`<aside class="panel" aria-label="Command detail">
      <header><h2>${selected.type}</h2><button class="icon" aria-label="Close" onClick=${() => setOpen(null)}>×</button></header>
      <dl class="facts">
        <dt>Id</dt><dd><code>${selected.id}</code></dd>
        <dt>Status</dt><dd><${Status} value=${selected.status} /></dd>
        <dt>Target</dt><dd>${selected.target} (${selected.targetKind})</dd>
        <dt>Source</dt><dd>${selected.source ?? "—"}</dd>
        <dt>Attempts</dt><dd>${selected.attempts}</dd>
        <dt>Created</dt><dd><${Time} ms=${selected.createdAt} now=${now} /></dd>
        <dt>Expires</dt><dd>${selected.expiresAt ? html`<${Time} ms=${selected.expiresAt} now=${now} future />` : "never"}</dd>
      </dl>
      <h3>Params</h3><${Json} value=${selected.params} />
      ${selected.result !== null && html`<h3>Result</h3><${Json} value=${selected.result} />`}
      ${selected.error && html`<h3>Error</h3><p class="error">${selected.error}</p>`}
    </aside>`}
  </section>`;
}
