// Pairs (#/pairs): every pair the token sees with its status, parties (who joined), objective
// and task, and a link to the pair's conversation on the Messages page. `pair` events move the
// rows in place.
import { get } from "../api.js";
import { html, useEffect, useState } from "../html.js";
import { changed, store, useStore } from "../store.js";
import { Empty, ErrorText, Time, useNow } from "../ui.js";

const enc = encodeURIComponent;
const STATUSES = ["forming", "active", "awaiting_review", "completed", "aborted"];

function statusText(status) {
  return status.replace("_", " ");
}

export function Pairs({ can }) {
  if (!can("task:read")) return html`<${Empty}>Your token cannot read pairs (needs task:read).<//>`;
  return html`<${PairList} />`;
}

function PairList() {
  const s = useStore();
  const now = useNow();
  const [status, setStatus] = useState("");
  const [error, setError] = useState(null);
  useEffect(() => {
    get("/api/pairs?limit=500").then((list) => {
      for (const pair of list) {
        const known = store.pairs.get(pair.id);
        if (!known || pair.version >= known.version) store.pairs.set(pair.id, pair);
      }
      store.pairsVersion += 1;
      store.loaded.add("pairs");
      changed();
      setError(null);
    }).catch((e) => setError(e.message));
  }, []);
  const list = [...s.pairs.values()].filter((p) => !status || p.status === status)
    .sort((a, b) => (b.updatedAt ?? 0) - (a.updatedAt ?? 0) || a.id.localeCompare(b.id));
  return html`<section class="pairs-page">
    <div class="toolbar">
      <label for="pairs-status">Status</label>
      <select id="pairs-status" value=${status} onChange=${(e) => setStatus(e.target.value)}>
        <option value="">All statuses</option>
        ${STATUSES.map((v) => html`<option key=${v} value=${v}>${statusText(v)}</option>`)}
      </select>
    </div>
    <${ErrorText} error=${error} />
    ${s.loaded.has("pairs") && list.length === 0 && html`<${Empty}>No pairs${status ? ` ${statusText(status)}` : ""} yet.<//>`}
    ${list.length > 0 && html`<table class="grid as-cards pair-table">
      <caption class="sr-only">Pairs</caption>
      <thead><tr><th>Pair</th><th>Status</th><th>Driver</th><th>Navigator</th><th>Objective</th><th>Updated</th><th><span class="sr-only">Conversation</span></th></tr></thead>
      <tbody>${list.map((p) => html`<tr key=${p.id} data-pair=${p.id}>
        <td data-label="Pair"><code>${p.id}</code>${p.taskId && html`<div class="sub">task <a href=${`#/tasks/${enc(p.taskId)}`}>${p.taskId}</a></div>`}</td>
        <td data-label="Status"><span class=${`badge status-${p.status}`}><span class="dot" aria-hidden="true"></span>${statusText(p.status)}</span></td>
        <td data-label="Driver"><${Party} id=${p.driver} joined=${p.joined.includes(p.driver)} /></td>
        <td data-label="Navigator"><${Party} id=${p.navigator} joined=${p.joined.includes(p.navigator)} /></td>
        <td data-label="Objective">${p.objective ?? "—"}</td>
        <td data-label="Updated"><${Time} ms=${p.updatedAt} now=${now} /></td>
        <td data-label="Conversation"><a href=${`#/messages?agent=${enc(p.driver)}&conversation=${enc(p.conversationId)}`}
          aria-label=${`Conversation of pair ${p.id}`}>Conversation</a></td>
      </tr>`)}</tbody>
    </table>`}
  </section>`;
}

function Party({ id, joined }) {
  return html`<a href=${`#/agents/${enc(id)}`}>${id}</a> <span class="sub">${joined ? "joined" : "not joined yet"}</span>`;
}
