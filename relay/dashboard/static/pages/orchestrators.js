// Orchestrators: the hosts, their managed sessions, and the Spawn form.
import { get, post } from "../api.js";
import { html, useEffect, useState } from "../html.js";
import { replaceAll, store, useStore } from "../store.js";
import { Dialog, Empty, ErrorText, Status, Time, useAction, useNow } from "../ui.js";

export function Orchestrators({ can }) {
  const s = useStore();
  const now = useNow();
  const [error, setError] = useState(null);
  const [spawning, setSpawning] = useState(null);
  useEffect(() => {
    get("/api/orchestrators").then((list) => { replaceAll(store.orchestrators, list); store.loaded.add("orchestrators"); })
      .catch((e) => setError(e.message));
  }, []);
  const list = [...s.orchestrators.values()].sort((a, b) => a.name.localeCompare(b.name));
  return html`<section>
    <${ErrorText} error=${error} />
    ${s.loaded.has("orchestrators") && list.length === 0 && html`<${Empty}>
      No orchestrators yet — start one on a host with
      <code>relay orchestrator --relay-url ${location.origin} --token TOKEN --base-dir DIR</code>
      (a token from <code>relay token create --profile orchestrator</code> or the Tokens page).
    <//>`}
    <table class="grid as-cards">
      <thead><tr><th>Orchestrator</th><th>Host</th><th>Base dir</th><th>Runtime</th><th>Status</th><th>Last heartbeat</th><th>Managed sessions</th><th><span class="sr-only">Actions</span></th></tr></thead>
      <tbody>${list.map((o) => html`<tr key=${o.id}>
        <td data-label="Orchestrator">${o.name}${o.name !== o.id && html`<div class="sub">${o.id}</div>`}</td>
        <td data-label="Host">${o.host ?? "—"}</td>
        <td data-label="Base dir"><code>${o.baseDir}</code></td>
        <td data-label="Runtime">${o.runtime?.version ?? "—"}</td>
        <td data-label="Status"><${Status} value=${o.status} /></td>
        <td data-label="Last heartbeat"><${Time} ms=${o.lastHeartbeatAt} now=${now} /></td>
        <td data-label="Managed sessions">${o.managedAgents.length === 0 ? "—" : html`<ul class="plain">${o.managedAgents.map((m) => html`<li key=${m.agentId}>
          ${m.sessionName ?? m.agentId} <span class="sub">${m.provider ?? ""} ${m.status ?? ""}</span></li>`)}</ul>`}</td>
        <td data-label="Actions"><button disabled=${!can("command:write") || o.status !== "online"}
                    title=${o.status !== "online" ? "orchestrator is not online" : ""}
                    onClick=${() => setSpawning(o)}>Spawn…</button></td>
      </tr>`)}</tbody>
    </table>
    ${spawning && html`<${SpawnForm} orchestrator=${spawning} onClose=${() => setSpawning(null)} />`}
  </section>`;
}

function SpawnForm({ orchestrator, onClose }) {
  const [form, setForm] = useState({
    provider: "claude", model: "", label: "", cwd: orchestrator.baseDir, policyName: "", workspaceMode: "",
  });
  const [done, setDone] = useState(null);
  const action = useAction();
  const set = (field) => (event) => setForm({ ...form, [field]: event.target.value });
  async function submit(event) {
    event.preventDefault();
    const body = { provider: form.provider, cwd: form.cwd };
    for (const field of ["model", "label", "policyName", "workspaceMode"]) if (form[field]) body[field] = form[field];
    const reply = await action.run(() => post(`/api/orchestrators/${encodeURIComponent(orchestrator.id)}/spawn`, body));
    if (reply) setDone(reply);
  }
  return html`<${Dialog} title=${`Spawn on ${orchestrator.name}`} onClose=${onClose}>
    ${done ? html`<p>Spawn requested: <code>${done.spawnRequestId}</code> (command <code>${done.command.id}</code>).</p>
      <div class="actions"><button class="primary" onClick=${onClose}>Done</button></div>` : html`
    <form class="form" onSubmit=${submit}>
      <label>Provider <select value=${form.provider} onChange=${set("provider")}>
        <option value="claude">claude</option><option value="codex">codex</option><option value="command">command</option></select></label>
      <label>Model <input value=${form.model} onInput=${set("model")} placeholder="default" /></label>
      <label>Label <input value=${form.label} onInput=${set("label")} /></label>
      <label>Working directory <input value=${form.cwd} onInput=${set("cwd")} required /></label>
      <label>Spawn policy <input value=${form.policyName} onInput=${set("policyName")} placeholder="none" /></label>
      <label>Workspace mode <select value=${form.workspaceMode} onChange=${set("workspaceMode")}>
        <option value="">default</option><option value="isolated">isolated</option><option value="shared">shared</option><option value="inherit">inherit</option></select></label>
      <${ErrorText} error=${action.error} />
      <div class="actions"><button type="button" onClick=${onClose}>Cancel</button>
        <button class="primary" type="submit" disabled=${action.busy}>Spawn</button></div>
    </form>`}
  <//>`;
}
