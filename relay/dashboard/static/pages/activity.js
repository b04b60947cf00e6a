// Activity: the audit feed, live, filterable by view.
import { get } from "../api.js";
import { html, useEffect, useState } from "../html.js";
import { changed, store, useStore } from "../store.js";
import { Empty, ErrorText, Time, useNow } from "../ui.js";

const VIEWS = ["", "agents", "orchestrators", "commands", "channels", "security", "config", "maintenance"];

export function Activity() {
  const s = useStore();
  const now = useNow();
  const [view, setView] = useState("");
  const [error, setError] = useState(null);
  useEffect(() => {
    get("/api/activity?limit=500").then((events) => {
      store.activity.splice(0, store.activity.length, ...events);
      store.loaded.add("activity");
      changed();
    }).catch((e) => setError(e.message));
  }, []);
  const events = s.activity.filter((event) => !view || event.view === view);
  return html`<section>
    <div class="toolbar">
      <select aria-label="Filter by view" value=${view} onChange=${(e) => setView(e.target.value)}>
        ${VIEWS.map((v) => html`<option value=${v}>${v || "All views"}</option>`)}
      </select>
    </div>
    <${ErrorText} error=${error} />
    ${s.loaded.has("activity") && events.length === 0 && html`<${Empty}>Nothing has happened${view ? ` in ${view}` : ""} yet.<//>`}
    <ol class="feed">${events.map((event) => html`<li key=${event.id}>
      <div class="feed-head">
        <span class="kind">${event.view ?? event.kind}</span>
        <strong class="feed-title">${event.title}</strong>
        ${event.meta && html`<span class="sub">${event.meta}</span>`}
        <${Time} ms=${event.createdAt} now=${now} />
      </div>
      ${event.body && html`<div class="sub">${event.body}</div>`}
    </li>`)}</ol>
  </section>`;
}
