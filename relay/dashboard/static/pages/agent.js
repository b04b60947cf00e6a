// One agent's page (#/agents/<id>): its facts, the actions with each command's outcome, the
// live timeline, its workspaces and the resume chain. Esc goes back to the list.
import { ApiError, get } from "../api.js";
import {
  ACTION_LABELS, LIFECYCLE, SETTLED, commandAgentId, commandLabel, lifecycleInFlight,
  outcomeText, requestAction,
} from "../actions.js";
import { html, useEffect, useRef, useState } from "../html.js";
import { store, upsertAll, useStore } from "../store.js";
import { Confirm, ErrorText, Status, Time, useAction, useNow } from "../ui.js";
import { fleetHash, hostLabel, providerText } from "./fleet.js";
import { DeliveryState } from "./messages.js";

// Actions that ask first: they end or replace the running session.
const CONFIRM = new Set(["restart", "shutdown", "resume", "clearContext"]);
const CONFIRM_TEXT = {
  restart: "This stops the session and starts a new one now.",
  shutdown: "This stops the session now.",
  resume: "This starts a new session resuming the last Claude conversation.",
  clearContext: "This clears the session's context now.",
};
const IN_FLIGHT = "a lifecycle action is already in progress";
const MAX_COMMANDS = 20;

const enc = encodeURIComponent;

export function AgentPage({ id, can }) {
  const s = useStore();
  const now = useNow(2000);
  const agent = s.agents.get(id);
  const [missing, setMissing] = useState(null);
  const heading = useRef(null);
  useEffect(() => {
    setMissing(null);
    get(`/api/agents/${enc(id)}`).then((card) => upsertAll(store.agents, [card]))
      .catch((e) => setMissing(e instanceof ApiError && e.status === 404 ? `No agent ${id}.` : e.message));
    if (!store.loaded.has("orchestrators")) {
      get("/api/orchestrators").then((list) => upsertAll(store.orchestrators, list)).catch(() => {});
    }
  }, [id]);
  const shown = Boolean(agent);
  useEffect(() => { if (shown) heading.current?.focus(); }, [id, shown]);
  useEffect(() => {
    const back = (event) => {
      if (event.key !== "Escape" || event.defaultPrevented || document.querySelector("dialog[open]")) return;
      location.hash = fleetHash();
    };
    addEventListener("keydown", back);
    return () => removeEventListener("keydown", back);
  }, []);
  const backLink = html`<a class="back" href=${fleetHash()}>← Fleet</a>`;
  if (!agent) {
    return html`<section class="agent-page">${backLink}
      <h1 ref=${heading} tabindex="-1">Agent ${id}</h1>
      ${missing ? html`<${ErrorText} error=${missing} />` : html`<p class="hint">Loading…</p>`}
    </section>`;
  }
  return html`<section class="agent-page" aria-labelledby="agent-title">
    ${backLink}
    <header class="agent-head">
      <h1 id="agent-title" ref=${heading} tabindex="-1">${agent.name}</h1>
      <${Status} value=${agent.status} />
      ${agent.meta?.lifecycleAction && html`<span class="badge lifecycle">${agent.meta.lifecycleAction}</span>`}
    </header>
    <div class="agent-columns">
      <div>
        <${Facts} agent=${agent} now=${now} />
        <${Actions} agent=${agent} can=${can} />
        <${Commands} agent=${agent} now=${now} />
        <${Inbox} agent=${agent} now=${now} can=${can} />
      </div>
      <div>
        <${Workspaces} agent=${agent} />
        <${Timeline} agent=${agent} now=${now} />
      </div>
    </div>
  </section>`;
}

function AgentLink({ id }) {
  const other = store.agents.get(id);
  return html`<a href=${`#/agents/${enc(id)}`}>${other?.name ?? id}</a>`;
}

function Facts({ agent, now }) {
  const meta = agent.meta ?? {};
  const orch = agent.orchestratorId ? store.orchestrators.get(agent.orchestratorId) : null;
  return html`<section aria-labelledby="facts-title">
    <h2 id="facts-title">Facts</h2>
    <dl class="facts">
      <dt>Id</dt><dd><code>${agent.id}</code></dd>
      <dt>Status</dt><dd>${agent.status}${agent.ready ? " · ready" : ""}</dd>
      <dt>Host</dt><dd>${agent.orchestratorId
        ? html`${hostLabel(agent.orchestratorId)} <span class="sub">orchestrator ${orch?.name ?? agent.orchestratorId}</span>`
        : "no orchestrator"}</dd>
      <dt>Working directory</dt><dd>${meta.cwd ? html`<code>${meta.cwd}</code>` : "—"}</dd>
      <dt>Session</dt><dd>${meta.sessionName ?? meta.tmuxSession ?? "—"}</dd>
      <dt>Provider / model</dt><dd>${providerText(agent)}</dd>
      <dt>Lifecycle</dt><dd>${meta.lifecycleAction ?? "—"}</dd>
      <dt>Last seen</dt><dd><${Time} ms=${agent.lastSeenAt} now=${now} /></dd>
      <dt>Registered</dt><dd><${Time} ms=${agent.registeredAt} now=${now} /></dd>
      <dt>Tags</dt><dd>${agent.tags.length ? agent.tags.map((t) => html`<span class="tag" key=${t}>${t}</span>`) : "—"}</dd>
      ${meta.resumeOfAgentId && html`<dt>Resumed from</dt><dd><${AgentLink} id=${meta.resumeOfAgentId} /></dd>`}
      ${meta.resumedByAgentId && html`<dt>Resumed as</dt><dd><${AgentLink} id=${meta.resumedByAgentId} /></dd>`}
    </dl>
  </section>`;
}

function Actions({ agent, can }) {
  const [support, setSupport] = useState(null);
  const [confirm, setConfirm] = useState(null);
  const action = useAction();
  const inFlight = lifecycleInFlight(agent);
  const orch = agent.orchestratorId ? store.orchestrators.get(agent.orchestratorId) : null;
  const key = `${agent.id}:${agent.status}:${agent.meta?.lifecycleCommandId ?? ""}:${orch?.status ?? ""}`;
  useEffect(() => {
    get(`/api/agents/${enc(agent.id)}/actions`).then(setSupport).catch((e) => action.setError(e.message));
  }, [key]);
  const writable = can("command:write");
  function click(name) {
    action.setError(null);
    if (CONFIRM.has(name)) setConfirm(name);
    else action.run(() => requestAction(agent, name));
  }
  return html`<section aria-labelledby="actions-title">
    <h2 id="actions-title">Actions</h2>
    ${!writable && html`<p class="hint">Your token cannot send commands (needs command:write).</p>`}
    ${support === null && !action.error && html`<p class="hint">Loading the actions this agent supports…</p>`}
    <div class="action-buttons">
      ${(support ?? []).map((entry) => {
        const busy = LIFECYCLE.has(entry.action) && inFlight;
        const reason = busy ? IN_FLIGHT : entry.available ? "" : entry.reason ?? "";
        return html`<span class="action" key=${entry.action}>
          <button class=${entry.action === "resume" ? "primary" : ""}
                  disabled=${!writable || !entry.available || busy || action.busy}
                  aria-describedby=${reason ? `why-${entry.action}` : undefined}
                  onClick=${() => click(entry.action)}>${ACTION_LABELS[entry.action] ?? entry.action}</button>
          ${reason && html`<span class="reason" id=${`why-${entry.action}`}>${reason}</span>`}
        </span>`;
      })}
    </div>
    <${ErrorText} error=${action.error} />
    ${confirm && html`<${Confirm} title=${`${ACTION_LABELS[confirm]} ${agent.name}?`} danger=${confirm !== "resume"}
      message=${CONFIRM_TEXT[confirm]} confirmLabel=${ACTION_LABELS[confirm]}
      onClose=${() => setConfirm(null)} onConfirm=${() => requestAction(agent, confirm)} />`}
  </section>`;
}

function Commands({ agent, now }) {
  const [error, setError] = useState(null);
  useEffect(() => {
    get(`/api/commands?agentId=${enc(agent.id)}&limit=${MAX_COMMANDS}`)
      .then((list) => upsertAll(store.commands, list))
      .catch((e) => setError(`Recent commands could not be loaded: ${e.message}`));
  }, [agent.id]);
  const list = [...store.commands.values()]
    .filter((c) => commandAgentId(c) === agent.id || c.target === agent.id)
    .sort((a, b) => b.createdAt - a.createdAt).slice(0, MAX_COMMANDS);
  return html`<section aria-labelledby="commands-title">
    <h2 id="commands-title">Commands</h2>
    <${ErrorText} error=${error} />
    ${list.length === 0 ? html`<p class="hint">No commands for this agent yet.</p>` : html`<ol class="history commands">
      ${list.map((c) => html`<li key=${c.id} data-command=${c.id}>
        <strong>${commandLabel(c)}</strong> <${Status} value=${c.status} /> <${Time} ms=${c.createdAt} now=${now} />
        <div class=${c.status === "failed" || c.status === "expired" ? "error outcome" : "outcome"}>
          ${commandLabel(c)} ${outcomeText(c)}</div>
        ${c.result !== null && c.result !== undefined && SETTLED.has(c.status)
          && html`<div class="sub result">${summary(c.result)}</div>`}
        <div class="sub"><code>${c.id}</code></div>
      </li>`)}
    </ol>`}
  </section>`;
}

// The inbox as the agent would find it, without leasing anything (peek); it follows the
// agent's delivery events.
function Inbox({ agent, now, can }) {
  const s = useStore();
  const [inbox, setInbox] = useState(null);
  const [error, setError] = useState(null);
  const readable = can("message:read");
  const key = [...s.deliveries.values()].filter((d) => d.agentId === agent.id)
    .map((d) => `${d.id}:${d.state}`).join(",");
  useEffect(() => {
    if (!readable) return;
    get(`/api/agents/${enc(agent.id)}/inbox?peek=true&limit=100`)
      .then((reply) => { setInbox(reply.items); setError(null); })
      .catch((e) => setError(`The inbox could not be read: ${e.message}`));
  }, [agent.id, key]);
  const states = new Map([...s.deliveries.values()].map((d) => [d.id, d.state]));
  return html`<section aria-labelledby="inbox-title" class="inbox">
    <h2 id="inbox-title">Inbox</h2>
    ${!readable && html`<p class="hint">Your token cannot read messages (needs message:read).</p>`}
    <${ErrorText} error=${error} />
    ${inbox && inbox.length === 0 && html`<p class="hint">Nothing queued or leased.</p>`}
    ${inbox && inbox.length > 0 && html`<ol class="history inbox-items">
      ${inbox.map((item) => html`<li key=${item.deliveryId} data-delivery=${item.deliveryId}>
        <strong>${item.message.from}</strong> <${DeliveryState} state=${states.get(item.deliveryId) ?? item.state} />
        <${Time} ms=${item.message.createdAt} now=${now} />
        <div class="message-body">${item.message.body}</div>
        <div class="sub">attempt ${item.attempt}/${item.message.maxAttempts}
          · <a href=${`#/messages?agent=${enc(agent.id)}&conversation=${enc(item.message.conversationId)}`}>conversation</a></div>
      </li>`)}
    </ol>`}
  </section>`;
}

function summary(value) {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

function Workspaces({ agent }) {
  const [error, setError] = useState(null);
  useEffect(() => {
    get(`/api/workspaces?agentId=${enc(agent.id)}`).then((list) => upsertAll(store.workspaces, list))
      .catch((e) => setError(e.message));
  }, [agent.id]);
  const list = [...store.workspaces.values()].filter((w) => w.agentId === agent.id);
  return html`<section aria-labelledby="workspaces-title">
    <h2 id="workspaces-title">Workspaces</h2>
    <${ErrorText} error=${error} />
    ${list.length === 0 ? html`<p class="hint">No workspaces.</p>` : html`<ul class="history">
      ${list.map((w) => html`<li key=${w.id}><strong>${w.branch ?? w.id}</strong> <${Status} value=${w.status} />
        <div class="sub"><code>${w.worktreePath}</code></div></li>`)}
    </ul>`}
  </section>`;
}

function Timeline({ agent, now }) {
  const [entries, setEntries] = useState([]);
  const activity = store.activity.filter((event) => event.agentId === agent.id);
  // New activity for this agent usually means new timeline entries too: fetch them then.
  useEffect(() => {
    get(`/api/agents/${enc(agent.id)}/timeline?limit=50`).then(setEntries).catch(() => setEntries([]));
  }, [agent.id, activity.length]);
  const merged = [
    ...entries.map((e) => ({ ...e, key: `t${e.id}` })),
    ...activity.map((e) => ({ ...e, key: `a${e.id}`, kind: e.view ?? e.kind })),
  ].sort((a, b) => b.createdAt - a.createdAt).slice(0, 80);
  return html`<section aria-labelledby="timeline-title">
    <h2 id="timeline-title">Timeline</h2>
    ${merged.length === 0 ? html`<p class="hint">No timeline entries.</p>` : html`<ol class="timeline">
      ${merged.map((entry) => html`<li key=${entry.key}><span class="kind">${entry.kind}</span> ${entry.title}
        <${Time} ms=${entry.createdAt} now=${now} />${entry.body && html`<div class="sub">${entry.body}</div>`}</li>`)}
    </ol>`}
  </section>`;
}
