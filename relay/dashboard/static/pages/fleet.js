// Fleet: every agent, grouped by orchestrator, with status, lifecycle and one-click actions.
import { get, post } from "../api.js";
import { html, pure, useEffect, useMemo, useState } from "../html.js";
import { replaceAll, store, useStore } from "../store.js";
import { Confirm, Empty, ErrorText, Status, Time, useAction, useNow } from "../ui.js";

const ACTION_LABELS = {
  restart: "Restart", shutdown: "Shut down", reconnect: "Reconnect",
  compact: "Compact", clearContext: "Clear context", resume: "Resume",
};
const DESTRUCTIVE = new Set(["restart", "shutdown", "clearContext"]);
// Rows rendered per group before "Show more": a browser re-lays out a whole table when one
// row changes, so thousands of rows would make every live update slow. Search narrows.
const PAGE_ROWS = 150;

function provider(agent) {
  const model = agent.providerCapabilities?.model ?? {};
  return [agent.meta?.provider ?? model.provider, agent.meta?.model ?? model.model]
    .filter(Boolean).join(" · ") || "—";
}

export function Fleet({ can }) {
  const s = useStore();
  const now = useNow();
  const [query, setQuery] = useState("");
  const [status, setStatus] = useState("");
  const [selected, setSelected] = useState(null);
  const [error, setError] = useState(null);
  const [shown, setShown] = useState({});
  useEffect(() => {
    Promise.all([get("/api/agents"), get("/api/orchestrators")])
      .then(([agents, orchestrators]) => {
        replaceAll(store.agents, agents);
        replaceAll(store.orchestrators, orchestrators);
        store.loaded.add("agents");
      })
      .catch((e) => setError(e.message));
  }, []);
  const groups = useMemo(() => {
    const needle = query.trim().toLowerCase();
    const byGroup = new Map();
    for (const agent of s.agents.values()) {
      if (status && agent.status !== status) continue;
      const text = `${agent.id} ${agent.name} ${agent.tags.join(" ")} ${provider(agent)}`.toLowerCase();
      if (needle && !text.includes(needle)) continue;
      const key = agent.orchestratorId ?? "";
      if (!byGroup.has(key)) byGroup.set(key, []);
      byGroup.get(key).push(agent);
    }
    return [...byGroup.entries()]
      .sort(([a], [b]) => (a === "" ? 1 : b === "" ? -1 : a.localeCompare(b)))
      .map(([key, agents]) => [key, agents.sort((x, y) => x.name.localeCompare(y.name))]);
  }, [s.version, query, status]);
  const agent = selected ? s.agents.get(selected) : null;
  return html`<section class="with-panel">
    <div class="list">
      <div class="toolbar">
        <input type="search" placeholder="Search agents, tags, models…" aria-label="Search agents"
               value=${query} onInput=${(e) => setQuery(e.target.value)} />
        <select aria-label="Filter by status" value=${status} onChange=${(e) => setStatus(e.target.value)}>
          <option value="">All statuses</option>
          <option value="online">Online</option><option value="stale">Stale</option><option value="offline">Offline</option>
        </select>
        <span class="count">${s.agents.size} agents</span>
      </div>
      <${ErrorText} error=${error} />
      ${s.loaded.has("agents") && s.agents.size === 0 && html`<${Empty}>
        No agents yet. Agents appear here when they register (<code>POST /api/agents</code>) —
        start an orchestrator with <code>relay orchestrator --relay-url … --token …</code> and spawn one.
      <//>`}
      ${groups.map(([key, agents]) => {
        const orch = key ? s.orchestrators.get(key) : null;
        const limit = shown[key] ?? PAGE_ROWS;
        return html`<section class="group" key=${key}>
          <h2>${key ? (orch ? `${orch.name} · ${orch.host ?? orch.id}` : key) : "Not managed by an orchestrator"}
            <span class="count">${agents.length}</span></h2>
          <table class="grid fixed">
            <colgroup><col class="w22" /><col class="w11" /><col class="w7" /><col class="w17" /><col class="w12" /><col class="w11" /><col /></colgroup>
            <thead><tr><th>Agent</th><th>Status</th><th>Ready</th><th>Provider / model</th><th>Lifecycle</th><th>Last seen</th><th>Tags</th></tr></thead>
            <tbody>${agents.slice(0, limit).map((a) => html`<${AgentRow} key=${a.id} agent=${a} now=${now}
                selected=${a.id === selected} onOpen=${setSelected} />`)}</tbody>
          </table>
          ${agents.length > limit && html`<button class="more" onClick=${() => setShown({ ...shown, [key]: limit + PAGE_ROWS })}>
            Show ${Math.min(PAGE_ROWS, agents.length - limit)} more of ${agents.length - limit} (or search)</button>`}
        </section>`;
      })}
    </div>
    ${agent && html`<${AgentPanel} agent=${agent} can=${can} now=${now} onClose=${() => setSelected(null)} />`}
  </section>`;
}

const AgentRow = pure(({ agent: a, now, selected, onOpen }) => html`<tr class=${selected ? "selected" : ""}>
  <td><button class="link" onClick=${() => onOpen(a.id)} aria-label=${`Open ${a.name}`}>${a.name}</button>
      ${a.name !== a.id && html`<div class="sub">${a.id}</div>`}</td>
  <td><${Status} value=${a.status} /></td>
  <td>${a.ready ? "ready" : "—"}</td>
  <td>${provider(a)}</td>
  <td>${a.meta?.lifecycleAction ? html`<span class="badge lifecycle">${a.meta.lifecycleAction}</span>` : "—"}</td>
  <td><${Time} ms=${a.lastSeenAt} now=${now} /></td>
  <td>${a.tags.map((t) => html`<span class="tag" key=${t}>${t}</span>`)}</td>
</tr>`);

function AgentPanel({ agent, can, now, onClose }) {
  const [support, setSupport] = useState(null);
  const [timeline, setTimeline] = useState([]);
  const [confirm, setConfirm] = useState(null);
  const action = useAction();
  const key = `${agent.id}:${agent.status}:${agent.meta?.lifecycleAction ?? ""}`;
  useEffect(() => {
    get(`/api/agents/${encodeURIComponent(agent.id)}/actions`).then(setSupport).catch((e) => action.setError(e.message));
    get(`/api/agents/${encodeURIComponent(agent.id)}/timeline?limit=50`).then(setTimeline).catch(() => setTimeline([]));
  }, [key]);
  const writable = can("command:write");
  async function perform(name) {
    await action.run(async () => {
      await post(`/api/agents/${encodeURIComponent(agent.id)}/actions`, { action: name });
    });
  }
  function click(name) {
    if (DESTRUCTIVE.has(name)) setConfirm(name);
    else perform(name);
  }
  const links = [
    agent.meta?.resumeOfAgentId && ["Resumed from", agent.meta.resumeOfAgentId],
    agent.meta?.resumedByAgentId && ["Resumed as", agent.meta.resumedByAgentId],
  ].filter(Boolean);
  return html`<aside class="panel" aria-label=${`Agent ${agent.name}`}>
    <header><h2>${agent.name}</h2><button class="icon" aria-label="Close" onClick=${onClose}>×</button></header>
    <dl class="facts">
      <dt>Status</dt><dd><${Status} value=${agent.status} /> ${agent.ready ? "· ready" : ""}</dd>
      <dt>Provider</dt><dd>${provider(agent)}</dd>
      <dt>Lifecycle</dt><dd>${agent.meta?.lifecycleAction ? html`<span class="badge lifecycle">${agent.meta.lifecycleAction}</span>` : "—"}</dd>
      <dt>Last seen</dt><dd><${Time} ms=${agent.lastSeenAt} now=${now} /></dd>
      <dt>Orchestrator</dt><dd>${agent.orchestratorId ?? "—"}</dd>
      ${links.map(([label, id]) => html`<dt>${label}</dt><dd><code>${id}</code></dd>`)}
    </dl>
    <h3>Actions</h3>
    ${!writable && html`<p class="hint">Your token cannot send commands (needs command:write).</p>`}
    <div class="action-buttons">
      ${(support ?? []).map((entry) => html`<span class="action" key=${entry.action}>
        <button class=${entry.action === "resume" ? "primary" : ""}
                disabled=${!writable || !entry.available || action.busy}
                title=${entry.reason ?? ""} onClick=${() => click(entry.action)}>${ACTION_LABELS[entry.action]}</button>
        ${!entry.available && entry.action === "resume" && agent.meta?.provider === "claude"
          && html`<span class="reason">${entry.reason}</span>`}
      </span>`)}
    </div>
    <${ErrorText} error=${action.error} />
    <h3>Timeline</h3>
    ${timeline.length === 0 ? html`<p class="hint">No timeline entries.</p>` : html`<ol class="timeline">
      ${timeline.map((entry) => html`<li key=${entry.id}><span class="kind">${entry.kind}</span> ${entry.title}
        <${Time} ms=${entry.createdAt} now=${now} />${entry.body && html`<div class="sub">${entry.body}</div>`}</li>`)}
    </ol>`}
    ${confirm && html`<${Confirm} title=${`${ACTION_LABELS[confirm]} ${agent.name}?`} danger
      message=${`This sends ${ACTION_LABELS[confirm].toLowerCase()} to the session now.`}
      confirmLabel=${ACTION_LABELS[confirm]} onClose=${() => setConfirm(null)}
      onConfirm=${() => post(`/api/agents/${encodeURIComponent(agent.id)}/actions`, { action: confirm })} />`}
  </aside>`;
}
