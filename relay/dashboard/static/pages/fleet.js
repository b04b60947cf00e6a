// Fleet: the overview (counts by status and host, which filter when clicked), filters and sort
// kept in the URL (#/fleet?status=stale&host=x), a virtual list of every agent, and bulk
// actions on a selection. One agent's page is pages/agent.js.
import { get } from "../api.js";
import { ACTION_LABELS, requestAction } from "../actions.js";
import { html, pure, useEffect, useMemo, useRef, useState } from "../html.js";
import { replaceAll, store, useStore } from "../store.js";
import { toast } from "../toast.js";
import { Confirm, Empty, ErrorText, Status, Time, useNow } from "../ui.js";
import { VirtualList, useNarrow } from "../vlist.js";

const STATUSES = ["online", "stale", "offline"];
const FILTERS = ["q", "status", "host", "tag", "provider", "lifecycle"];
const SORTS = { name: "Agent", status: "Status", provider: "Provider / model", lastSeen: "Last seen" };
const BULK = ["restart", "shutdown", "compact"];
const ROW_HEIGHT = { wide: 52, narrow: 104 }; // = the heights in fleet.css
const CARDS_BELOW = 760; // px: narrower than the columns' minimum widths, each agent is a card
const NO_HOST = "none";

// -- the view's state lives in the hash query, so a view is a link ------------------------------

function readQuery() {
  const [, query = ""] = location.hash.split("?");
  return Object.fromEntries(new URLSearchParams(query));
}

let lastFleetHash = "#/fleet";
let lastOpened = null; // the agent whose page was opened from here: its row gets focus back
const selection = new Set();

export function fleetHash() { return lastFleetHash; }

function useQuery() {
  const [query, setQuery] = useState(readQuery);
  useEffect(() => {
    const update = () => setQuery(readQuery());
    addEventListener("hashchange", update);
    return () => removeEventListener("hashchange", update);
  }, []);
  function set(changes) {
    const next = { ...query, ...changes };
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(next)) if (value) params.set(key, value);
    const text = params.toString();
    lastFleetHash = `#/fleet${text ? `?${text}` : ""}`;
    // Typing in the search box must not push a history entry per key.
    history.replaceState(null, "", lastFleetHash);
    setQuery(next);
  }
  lastFleetHash = location.hash.startsWith("#/fleet") ? location.hash : lastFleetHash;
  return [query, set];
}

// -- what is derived from an agent, memoised per agent object -----------------------------------

export function providerOf(agent) {
  return agent.meta?.provider ?? agent.providerCapabilities?.model?.provider ?? null;
}

export function modelOf(agent) {
  return agent.meta?.model ?? agent.providerCapabilities?.model?.model ?? null;
}

export function providerText(agent) {
  return [providerOf(agent), modelOf(agent)].filter(Boolean).join(" · ") || "—";
}

export function hostLabel(orchestratorId) {
  if (!orchestratorId) return "no orchestrator";
  const orch = store.orchestrators.get(orchestratorId);
  return orch ? (orch.host ?? orch.name) : orchestratorId;
}

const searchText = new WeakMap();
function textOf(agent) {
  let text = searchText.get(agent);
  if (text === undefined) {
    text = `${agent.id} ${agent.name} ${agent.tags.join(" ")} ${providerText(agent)}`.toLowerCase();
    searchText.set(agent, text);
  }
  return text;
}

function matches(agent, query) {
  const lifecycle = agent.meta?.lifecycleAction ?? "";
  return {
    q: !query.q || textOf(agent).includes(query.q.trim().toLowerCase()),
    status: !query.status || agent.status === query.status,
    host: !query.host || (agent.orchestratorId ?? NO_HOST) === query.host,
    tag: !query.tag || agent.tags.includes(query.tag),
    provider: !query.provider || (providerOf(agent) ?? "none") === query.provider,
    lifecycle: !query.lifecycle || (query.lifecycle === "none" ? !lifecycle
      : query.lifecycle === "any" ? Boolean(lifecycle) : lifecycle === query.lifecycle),
  };
}

const COMPARE = {
  name: (a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id),
  status: (a, b) => STATUSES.indexOf(a.status) - STATUSES.indexOf(b.status) || COMPARE.name(a, b),
  provider: (a, b) => providerText(a).localeCompare(providerText(b)) || COMPARE.name(a, b),
  // Most recent first reads as "ascending" freshness: the natural order for "last seen".
  lastSeen: (a, b) => (b.lastSeenAt ?? 0) - (a.lastSeenAt ?? 0) || COMPARE.name(a, b),
};

// One pass over the fleet: the visible ids in order, and the overview's counts. A count of one
// dimension follows every filter but its own, so clicking it narrows what the others show.
function derive(agents, query) {
  const ids = [];
  const byStatus = Object.fromEntries(STATUSES.map((s) => [s, 0]));
  const byHost = new Map();
  const others = (m, skip) => FILTERS.every((f) => f === skip || m[f]);
  const kept = [];
  for (const agent of agents) {
    const m = matches(agent, query);
    if (others(m, "status")) byStatus[agent.status] = (byStatus[agent.status] ?? 0) + 1;
    if (others(m, "host")) {
      const host = agent.orchestratorId ?? NO_HOST;
      byHost.set(host, (byHost.get(host) ?? 0) + 1);
    }
    if (others(m, null)) kept.push(agent);
  }
  const compare = COMPARE[query.sort] ?? COMPARE.name;
  kept.sort(query.dir === "desc" ? (a, b) => compare(b, a) : compare);
  for (const agent of kept) ids.push(agent.id);
  return { ids, byStatus, byHost };
}

function facets(agents) {
  const tags = new Set();
  const providers = new Set();
  const lifecycles = new Set();
  for (const agent of agents) {
    agent.tags.forEach((t) => tags.add(t));
    providers.add(providerOf(agent) ?? "none");
    if (agent.meta?.lifecycleAction) lifecycles.add(agent.meta.lifecycleAction);
  }
  const sorted = (set) => [...set].sort();
  return { tags: sorted(tags), providers: sorted(providers), lifecycles: sorted(lifecycles) };
}

// -- the page -----------------------------------------------------------------------------------

export function Fleet({ can }) {
  const s = useStore();
  const now = useNow();
  const narrow = useNarrow(CARDS_BELOW);
  const [query, setQuery] = useQuery();
  const [error, setError] = useState(null);
  const [, setPicked] = useState(0);
  const [bulk, setBulk] = useState(null);
  const [fetched, setFetched] = useState(false);
  // Taken once per visit: the row to focus again, kept until focus has landed on it. The first
  // render may show the store as the last visit left it and the fresh list replaces it a moment
  // later, so one try at mount can miss the row.
  const refocus = useRef(undefined);
  if (refocus.current === undefined) {
    refocus.current = lastOpened;
    lastOpened = null;
  }
  const scrollRef = useRef(null);
  useEffect(() => {
    Promise.all([get("/api/agents"), get("/api/orchestrators")])
      .then(([agents, orchestrators]) => {
        replaceAll(store.orchestrators, orchestrators);
        replaceAll(store.agents, agents);
        store.loaded.add("agents");
      })
      .catch((e) => setError(e.message))
      .finally(() => setFetched(true));
  }, []);
  const queryKey = JSON.stringify(query);
  const sortsByPresence = query.sort === "lastSeen";
  const view = useMemo(() => derive(s.agents.values(), query),
    [s.agentsVersion, sortsByPresence ? s.presenceVersion : 0, queryKey]);
  const options = useMemo(() => facets(s.agents.values()), [s.agentsVersion]);
  const rowHeight = narrow ? ROW_HEIGHT.narrow : ROW_HEIGHT.wide;

  // Back from an agent's page: bring its row into view and give it focus again.
  useEffect(() => {
    const id = refocus.current;
    if (!id || !s.loaded.has("agents")) return;
    const index = view.ids.indexOf(id);
    if (index < 0 || !scrollRef.current) {
      if (fetched) refocus.current = null; // gone from the fresh list: nothing to return to
      return;
    }
    const scroller = scrollRef.current;
    const top = index * rowHeight;
    if (top < scroller.scrollTop || top + rowHeight > scroller.scrollTop + scroller.clientHeight) {
      scroller.scrollTop = Math.max(0, top - scroller.clientHeight / 3);
    }
    requestAnimationFrame(() => requestAnimationFrame(() => {
      if (refocus.current !== id) return;
      const row = scroller.querySelector(`[data-agent="${CSS.escape(id)}"]`);
      row?.focus();
      // The try after the fresh list is the last: later updates must not steal focus back.
      if (fetched) refocus.current = null;
    }));
  }, [s.loaded.has("agents"), view, fetched]);

  const writable = can("command:write");
  // Stable, so the pure rows re-render only when their own agent changed.
  const toggle = useMemo(() => (id) => {
    if (selection.has(id)) selection.delete(id); else selection.add(id);
    setPicked((n) => n + 1);
  }, []);
  for (const id of [...selection]) if (!s.agents.has(id)) selection.delete(id);
  const allPicked = view.ids.length > 0 && view.ids.every((id) => selection.has(id));
  const somePicked = !allPicked && view.ids.some((id) => selection.has(id));
  function pickAll() {
    if (allPicked) view.ids.forEach((id) => selection.delete(id));
    else view.ids.forEach((id) => selection.add(id));
    setPicked((n) => n + 1);
  }
  const filtered = FILTERS.some((f) => query[f]);
  const hosts = [...view.byHost.keys()].sort((a, b) => hostLabel(a === NO_HOST ? null : a)
    .localeCompare(hostLabel(b === NO_HOST ? null : b)));
  const pressed = (dim, value) => () => setQuery({ [dim]: query[dim] === value ? "" : value });
  const sortBy = (key) => setQuery({
    sort: key, dir: (query.sort ?? "name") === key && query.dir !== "desc" ? "desc" : "",
  });
  const ariaSort = (key) => ((query.sort ?? "name") === key
    ? (query.dir === "desc" ? "descending" : "ascending") : undefined);
  const select = (dim, label, values, render = (v) => v) => html`<select aria-label=${label}
      value=${query[dim] ?? ""} onChange=${(e) => setQuery({ [dim]: e.target.value })}>
    <option value="">${label.replace("Filter by ", "Any ")}</option>
    ${values.map((v) => html`<option value=${v}>${render(v)}</option>`)}
  </select>`;

  return html`<section class="fleet">
    <section class="overview" aria-label="Fleet overview">
      <div class="counts" role="group" aria-label="Agents by status">
        ${STATUSES.map((st) => html`<button class=${`count-chip status-${st}`} key=${st}
            aria-pressed=${query.status === st ? "true" : "false"} onClick=${pressed("status", st)}>
          <span class="n">${view.byStatus[st] ?? 0}</span> ${st}</button>`)}
      </div>
      <div class="counts" role="group" aria-label="Agents by host">
        ${hosts.map((h) => html`<button class="count-chip" key=${h}
            aria-pressed=${query.host === h ? "true" : "false"} onClick=${pressed("host", h)}>
          <span class="n">${view.byHost.get(h)}</span> ${hostLabel(h === NO_HOST ? null : h)}</button>`)}
      </div>
    </section>
    <div class="toolbar">
      <input type="search" placeholder="Search agents, tags, models…" aria-label="Search agents"
             value=${query.q ?? ""} onInput=${(e) => setQuery({ q: e.target.value })} />
      ${select("status", "Filter by status", STATUSES)}
      ${select("host", "Filter by host", [...new Set([...s.orchestrators.keys(), ...hosts])].sort(),
        (h) => hostLabel(h === NO_HOST ? null : h))}
      ${select("tag", "Filter by tag", options.tags)}
      ${select("provider", "Filter by provider", options.providers)}
      ${select("lifecycle", "Filter by lifecycle", ["any", "none", ...options.lifecycles],
        (v) => (v === "any" ? "any in progress" : v === "none" ? "none in progress" : v))}
      ${filtered && html`<button onClick=${() => setQuery(Object.fromEntries(FILTERS.map((f) => [f, ""])))}>Clear filters</button>`}
      <span class="count" role="status">${filtered ? `${view.ids.length} of ${s.agents.size} agents` : `${s.agents.size} agents`}</span>
    </div>
    ${selection.size > 0 && html`<div class="bulk" role="group" aria-label="Selected agents">
      <span>${selection.size} selected</span>
      ${BULK.map((a) => html`<button key=${a} disabled=${!writable} onClick=${() => setBulk(a)}>${ACTION_LABELS[a]}…</button>`)}
      <button onClick=${() => { selection.clear(); setPicked((n) => n + 1); }}>Clear selection</button>
    </div>`}
    <${ErrorText} error=${error} />
    ${s.loaded.has("agents") && s.agents.size === 0 && html`<${Empty}>
      No agents yet. Agents appear here when they register (<code>POST /api/agents</code>) —
      start an orchestrator with <code>relay orchestrator --relay-url … --token …</code> and spawn one.
    <//>`}
    <div class=${`agents ${narrow ? "cards" : "rows"}`} role="table" aria-label="Agents"
         aria-rowcount=${view.ids.length + 1}>
      <div role="rowgroup" class="head">
        <div role="row" aria-rowindex="1" class="agent-row">
          <span role="columnheader" class="c-pick">
            <input type="checkbox" aria-label="Select all shown agents" checked=${allPicked}
                   indeterminate=${somePicked} onChange=${pickAll} /></span>
          ${Object.entries(SORTS).map(([key, label]) => html`<span role="columnheader" key=${key}
              class=${`c-${key}`} aria-sort=${ariaSort(key)}>
            <button class="sort" onClick=${() => sortBy(key)}>${label}
              <span aria-hidden="true">${ariaSort(key) === "ascending" ? " ▲" : ariaSort(key) === "descending" ? " ▼" : ""}</span></button>
          </span>`)}
          <span role="columnheader" class="c-host">Host</span>
          <span role="columnheader" class="c-lifecycle">Lifecycle</span>
          <span role="columnheader" class="c-tags">Tags</span>
        </div>
      </div>
      <${VirtualList} count=${view.ids.length} rowHeight=${rowHeight} scrollRef=${scrollRef}
        row=${(index, ariaIndex) => {
          const agent = s.agents.get(view.ids[index]);
          return html`<${AgentRow} key=${agent.id} agent=${agent} ariaIndex=${ariaIndex} now=${now}
            host=${hostLabel(agent.orchestratorId)} picked=${selection.has(agent.id)} onPick=${toggle} />`;
        }} />
    </div>
    ${bulk && html`<${BulkConfirm} action=${bulk} ids=${[...selection]} onClose=${() => setBulk(null)} />`}
  </section>`;
}

const AgentRow = pure(({ agent: a, ariaIndex, now, host, picked, onPick }) => html`<div role="row"
    aria-rowindex=${ariaIndex} class=${`agent-row${picked ? " selected" : ""}`}>
  <span role="cell" class="c-pick"><input type="checkbox" aria-label=${`Select ${a.name}`}
        checked=${picked} onChange=${() => onPick(a.id)} /></span>
  <span role="cell" class="c-name"><a href=${`#/agents/${encodeURIComponent(a.id)}`} data-agent=${a.id}
        onClick=${() => { lastOpened = a.id; }}>${a.name}</a>
      ${a.name !== a.id && html`<span class="sub">${a.id}</span>`}</span>
  <span role="cell" class="c-status"><${Status} value=${a.status} />${a.ready ? html` <span class="sub">ready</span>` : ""}</span>
  <span role="cell" class="c-provider">${providerText(a)}</span>
  <span role="cell" class="c-lastSeen"><span class="label">Last seen</span><${Time} ms=${a.lastSeenAt} now=${now} /></span>
  <span role="cell" class="c-host">${host}</span>
  <span role="cell" class="c-lifecycle">${a.meta?.lifecycleAction ? html`<span class="badge lifecycle">${a.meta.lifecycleAction}</span>` : html`<span class="none">—</span>`}</span>
  <span role="cell" class="c-tags">${a.tags.map((t) => html`<span class="tag" key=${t}>${t}</span>`)}</span>
</div>`);

// -- bulk actions -------------------------------------------------------------------------------

async function runBulk(action, ids) {
  const queued = [];
  const refused = new Map(); // reason → count
  let next = 0;
  // A few at a time: 500 selected agents must not open 500 requests at once.
  async function worker() {
    while (next < ids.length) {
      const agent = store.agents.get(ids[next]);
      next += 1;
      if (!agent) continue;
      try {
        queued.push(await requestAction(agent, action, { quiet: true }));
      } catch (e) {
        refused.set(e.message, (refused.get(e.message) ?? 0) + 1);
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(6, ids.length) }, worker));
  const refusedCount = [...refused.values()].reduce((a, b) => a + b, 0);
  const reasons = [...refused.entries()].map(([reason, n]) => `${reason} (${n})`).join("; ");
  toast({
    kind: refusedCount ? (queued.length ? "info" : "error") : "ok",
    text: `${ACTION_LABELS[action]}: ${queued.length} queued${refusedCount ? `, ${refusedCount} refused: ${reasons}` : ""}`,
  });
}

function BulkConfirm({ action, ids, onClose }) {
  const n = ids.length;
  const noun = n === 1 ? "agent" : "agents";
  return html`<${Confirm} title=${`${ACTION_LABELS[action]} ${n} ${noun}?`} danger
    message=${`This sends ${ACTION_LABELS[action].toLowerCase()} to ${n} ${noun} now; the result is summarised when every request is answered.`}
    confirmLabel=${`${ACTION_LABELS[action]} ${n} ${noun}`} onClose=${onClose}
    onConfirm=${() => runBulk(action, ids)} />`;
}
