// Integrations (#/integrations): each configured integration's summary (never its token) and
// its recent events: type, subject and delivery id, not their payloads. `integration` events
// add rows live and refresh the summaries.
import { get } from "../api.js";
import { html, useEffect, useRef, useState } from "../html.js";
import { useStore } from "../store.js";
import { Empty, ErrorText, Time, useNow } from "../ui.js";

const enc = encodeURIComponent;

// Re-read at most once per `ms` after `key` changes: a burst of events costs one fetch.
function useThrottled(fn, key, ms = 500) {
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

export function Integrations({ can }) {
  if (!can("config:read")) return html`<${Empty}>Your token cannot read integrations (needs config:read).<//>`;
  return html`<${IntegrationList} />`;
}

function IntegrationList() {
  const s = useStore();
  const now = useNow();
  const [list, setList] = useState(null);
  const [error, setError] = useState(null);
  const [openName, setOpenName] = useState(null);
  function load() {
    get("/api/integrations").then((found) => { setList(found); setError(null); })
      .catch((e) => setError(e.message));
  }
  useEffect(load, []);
  useThrottled(load, s.integrationsVersion);
  return html`<section class="integrations-page">
    <${ErrorText} error=${error} />
    ${list && list.length === 0 && html`<${Empty}>No integrations are configured (RELAY_INTEGRATION_TOKENS).<//>`}
    ${list && list.length > 0 && html`<table class="grid as-cards integration-table">
      <caption class="sr-only">Integrations</caption>
      <thead><tr><th>Integration</th><th>Scopes</th><th>Per minute</th><th>Events (24 h)</th><th>Last event</th><th><span class="sr-only">Actions</span></th></tr></thead>
      <tbody>${list.map((i) => html`<tr key=${i.name} data-integration=${i.name} class=${i.name === openName ? "selected" : ""}>
        <td data-label="Integration"><code>${i.name}</code></td>
        <td data-label="Scopes">${i.scopes.join(", ") || "—"}</td>
        <td data-label="Per minute">${i.perMinute}</td>
        <td data-label="Events (24 h)">${i.events24h}</td>
        <td data-label="Last event"><${Time} ms=${i.lastEventAt} now=${now} /></td>
        <td data-label="Actions"><button aria-pressed=${i.name === openName ? "true" : "false"}
          aria-label=${`Events of ${i.name}`} onClick=${() => setOpenName(i.name)}>Events</button></td>
      </tr>`)}</tbody>
    </table>`}
    ${openName && html`<${RecentEvents} key=${openName} name=${openName} now=${now} />`}
  </section>`;
}

function RecentEvents({ name, now }) {
  const s = useStore();
  const [events, setEvents] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    get(`/api/integrations/${enc(name)}/events?limit=50`)
      // Only what a row shows: the payload stays out of the page.
      .then((found) => { setEvents(found.map(({ payload, ...event }) => event)); setError(null); })
      .catch((e) => setError(e.message));
  }, [name]);
  // Events the stream brought since the read, newest first, ahead of the ones read.
  const read = events ?? [];
  const seen = new Set(read.map((e) => e.id));
  const live = s.integrationEvents.filter((e) => e.integration === name && !seen.has(e.id));
  const shown = [...live, ...read];
  return html`<section class="integration-events" aria-labelledby="integration-events-title">
    <h2 id="integration-events-title">Recent events of ${name}</h2>
    <${ErrorText} error=${error} />
    ${events && shown.length === 0 && html`<p class="hint">No events received yet.</p>`}
    ${shown.length > 0 && html`<table class="grid as-cards integration-event-table">
      <caption class="sr-only">Recent events of ${name}</caption>
      <thead><tr><th>Type</th><th>Subject</th><th>Delivery id</th><th>Occurred</th><th>Received</th></tr></thead>
      <tbody>${shown.map((e) => html`<tr key=${e.id} data-event=${e.id}>
        <td data-label="Type"><code>${e.type}</code></td>
        <td data-label="Subject">${e.subject ?? "—"}</td>
        <td data-label="Delivery id"><code>${e.deliveryId}</code></td>
        <td data-label="Occurred">${e.occurredAt ? html`<${Time} ms=${e.occurredAt} now=${now} />` : "—"}</td>
        <td data-label="Received"><${Time} ms=${e.receivedAt} now=${now} /></td>
      </tr>`)}</tbody>
    </table>`}
  </section>`;
}
