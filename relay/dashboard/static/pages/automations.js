// Automations (#/automations): each automation with its trigger and action, and one opened with
// its dispatch history (newest first) and "Run now" (a manual dispatch, disabled ones too).
// `automation` events add the dispatches live.
import { get, post } from "../api.js";
import { html, useEffect, useState } from "../html.js";
import { store, useStore } from "../store.js";
import { toast } from "../toast.js";
import { Empty, ErrorText, Json, Time, useAction, useNow } from "../ui.js";

const enc = encodeURIComponent;

function hashQuery() {
  return new URLSearchParams(location.hash.split("?")[1] ?? "");
}

function triggerText(trigger) {
  if (trigger?.type === "schedule") return `every ${trigger.everySeconds}s`;
  if (trigger?.type === "event") return `event ${trigger.eventType}${trigger.integration ? ` from ${trigger.integration}` : ""}`;
  return trigger?.type ?? "—";
}

function resultText(dispatch) {
  if (dispatch.status === "succeeded") {
    const r = dispatch.result ?? {};
    const what = r.taskId ? `task ${r.taskId}` : r.messageId ? `message ${r.messageId}` : r.commandId ? `command ${r.commandId}` : "";
    return what ? `succeeded: ${what}` : "succeeded";
  }
  return dispatch.error ? `${dispatch.status}: ${dispatch.error}` : dispatch.status;
}

export function Automations({ can }) {
  if (!can("config:read")) return html`<${Empty}>Your token cannot read automations (needs config:read).<//>`;
  return html`<${AutomationList} can=${can} />`;
}

function AutomationList({ can }) {
  const s = useStore();
  const now = useNow();
  const [list, setList] = useState(null);
  const [error, setError] = useState(null);
  const [openId, setOpenId] = useState(hashQuery().get("automation"));
  useEffect(() => {
    get("/api/automations").then((found) => { setList(found); setError(null); })
      .catch((e) => setError(e.status === 404 ? "This relay has no automations route yet." : e.message));
  }, [s.configVersion, s.automationsVersion]); // a dispatch moves a schedule's next run
  function open(id) {
    setOpenId(id);
    history.replaceState(null, "", `#/automations${id ? `?automation=${enc(id)}` : ""}`);
  }
  const opened = list?.find((a) => a.id === openId) ?? null;
  return html`<section class="automations-page">
    <${ErrorText} error=${error} />
    ${list && list.length === 0 && html`<${Empty}>No automations yet.<//>`}
    ${list && list.length > 0 && html`<table class="grid as-cards automation-table">
      <caption class="sr-only">Automations</caption>
      <thead><tr><th>Automation</th><th>Enabled</th><th>Trigger</th><th>Action</th><th>Per hour</th><th>Next run</th><th><span class="sr-only">Actions</span></th></tr></thead>
      <tbody>${list.map((a) => html`<tr key=${a.id} data-automation=${a.id} class=${a.id === openId ? "selected" : ""}>
        <td data-label="Automation">${a.name}<div class="sub"><code>${a.id}</code></div></td>
        <td data-label="Enabled">${a.enabled ? "yes" : "no"}</td>
        <td data-label="Trigger">${triggerText(a.trigger)}</td>
        <td data-label="Action">${a.action?.type ?? "—"}</td>
        <td data-label="Per hour">${a.maxPerHour}</td>
        <td data-label="Next run">${a.nextRunAt ? html`<${Time} ms=${a.nextRunAt} now=${now} future />` : "—"}</td>
        <td data-label="Actions"><button aria-pressed=${a.id === openId ? "true" : "false"}
          aria-label=${`Open ${a.name}`} onClick=${() => open(a.id)}>Open</button></td>
      </tr>`)}</tbody>
    </table>`}
    ${opened && html`<${AutomationDetail} key=${opened.id} automation=${opened} can=${can} now=${now} />`}
  </section>`;
}

function AutomationDetail({ automation, can, now }) {
  const s = useStore();
  const [read, setRead] = useState(null);
  const [error, setError] = useState(null);
  const run = useAction();
  useEffect(() => {
    get(`/api/automations/${enc(automation.id)}/dispatches?limit=50`)
      .then((found) => { setRead(found); setError(null); })
      .catch((e) => setError(e.message));
  }, [automation.id]);
  // Dispatches the stream brought (or Run now answered) that the read did not have, then the
  // read ones: newest first.
  const known = new Map((read ?? []).map((d) => [d.id, d]));
  for (const d of s.dispatches.values()) if (d.automationId === automation.id) known.set(d.id, d);
  const dispatches = [...known.values()].sort((a, b) => (b.at ?? 0) - (a.at ?? 0) || b.id.localeCompare(a.id));
  async function runNow() {
    const result = await post(`/api/automations/${enc(automation.id)}/run`, {});
    store.dispatches.set(result.id, result);
    store.automationsVersion += 1;
    setRead((before) => [result, ...(before ?? []).filter((d) => d.id !== result.id)]);
    toast({ kind: result.status === "succeeded" ? "ok" : result.status === "failed" ? "error" : "info",
      text: `Run ${automation.name}: ${resultText(result)}` });
  }
  const titleId = `automation-title-${automation.id}`;
  return html`<section class="automation-detail" aria-labelledby=${titleId}>
    <header class="task-head">
      <h2 id=${titleId}>Automation ${automation.name}</h2>
      ${can("config:write") && html`<button class="primary" disabled=${run.busy} onClick=${() => run.run(runNow)}>Run now</button>`}
    </header>
    <${ErrorText} error=${error || run.error} />
    <div class="automation-parts">
      <div><h3>Trigger</h3><${Json} value=${automation.trigger} /></div>
      <div><h3>Action</h3><${Json} value=${automation.action} /></div>
    </div>
    <h3>Dispatch history</h3>
    ${read && dispatches.length === 0 && html`<p class="hint">Never dispatched.</p>`}
    ${dispatches.length > 0 && html`<table class="grid as-cards dispatch-table">
      <caption class="sr-only">Dispatches of ${automation.name}, newest first</caption>
      <thead><tr><th>When</th><th>Trigger</th><th>Status</th><th>Outcome</th></tr></thead>
      <tbody>${dispatches.map((d) => html`<tr key=${d.id} data-dispatch=${d.id}>
        <td data-label="When"><${Time} ms=${d.at} now=${now} /></td>
        <td data-label="Trigger">${d.trigger}${d.eventId ? html`<div class="sub"><code>${d.eventId}</code></div>` : ""}</td>
        <td data-label="Status"><span class=${`badge status-${d.status}`}><span class="dot" aria-hidden="true"></span>${d.status}</span></td>
        <td data-label="Outcome">${d.result?.taskId
          ? html`succeeded: task <a href=${`#/tasks/${enc(d.result.taskId)}`}>${d.result.taskId}</a>`
          : resultText(d)}</td>
      </tr>`)}</tbody>
    </table>`}
  </section>`;
}
