// Tasks (#/tasks): the board by status (the final statuses folded away), the queue of tasks
// that need a human with Requeue and Cancel, and one task's page (#/tasks/<id>) with its
// fields, routing hints, history, result and artifacts. The board reads each status once,
// then `task` events move the cards.
import { download, get, post } from "../api.js";
import { html, useEffect, useState } from "../html.js";
import { recordTask, store, upsertTasks, useStore } from "../store.js";
import { toast } from "../toast.js";
import { Confirm, Empty, ErrorText, Json, Time, useAction, useNow } from "../ui.js";

const enc = encodeURIComponent;
export const OPEN_STATUSES = ["submitted", "assigned", "working", "input_required", "needs_human"];
export const FINAL_STATUSES = ["completed", "failed", "canceled", "rejected"];
// The newest this many per status are read; events add the rest as they happen.
const PER_STATUS = 100;

export function statusText(status) {
  return status.replace("_", " ");
}

export function TaskStatus({ value }) {
  return html`<span class=${`badge status-${value}`}><span class="dot" aria-hidden="true"></span>${statusText(value)}</span>`;
}

const newestFirst = (a, b) => (b.updatedAt ?? 0) - (a.updatedAt ?? 0) || a.id.localeCompare(b.id);

function useTasks() {
  const s = useStore();
  const [error, setError] = useState(null);
  useEffect(() => {
    const reads = [...OPEN_STATUSES, ...FINAL_STATUSES].map((status) => get(`/api/tasks?status=${status}&limit=${PER_STATUS}`));
    Promise.all(reads).then((lists) => { upsertTasks(lists.flat()); store.loaded.add("tasks"); setError(null); })
      .catch((e) => setError(e.message));
  }, []);
  const byStatus = new Map([...OPEN_STATUSES, ...FINAL_STATUSES].map((status) => [status, []]));
  for (const task of s.tasks.values()) byStatus.get(task.status)?.push(task);
  for (const list of byStatus.values()) list.sort(newestFirst);
  return { byStatus, error, loaded: s.loaded.has("tasks") };
}

export function Tasks({ can }) {
  if (!can("task:read")) return html`<${Empty}>Your token cannot read tasks (needs task:read).<//>`;
  return html`<${Board} can=${can} />`;
}

function Board({ can }) {
  const now = useNow();
  const { byStatus, error, loaded } = useTasks();
  const finals = FINAL_STATUSES.reduce((n, status) => n + byStatus.get(status).length, 0);
  return html`<section class="tasks-page">
    <${ErrorText} error=${error} />
    <${NeedsHuman} tasks=${byStatus.get("needs_human")} can=${can} now=${now} loaded=${loaded} />
    <h2 class="section-title">Board</h2>
    <div class="task-board">
      ${OPEN_STATUSES.map((status) => html`<${Column} key=${status} status=${status} tasks=${byStatus.get(status)} now=${now} />`)}
    </div>
    <details class="final-tasks">
      <summary>Final tasks (${finals})</summary>
      <div class="task-board">
        ${FINAL_STATUSES.map((status) => html`<${Column} key=${status} status=${status} tasks=${byStatus.get(status)} now=${now} />`)}
      </div>
    </details>
  </section>`;
}

function Column({ status, tasks, now }) {
  const id = `tasks-column-${status}`;
  return html`<section class="task-column" aria-labelledby=${id} data-status=${status}>
    <h3 id=${id}>${statusText(status)} <span class="count">${tasks.length}</span></h3>
    ${tasks.length === 0 ? html`<p class="hint">None.</p>` : html`<ul class="task-cards">
      ${tasks.map((t) => html`<li key=${t.id} class="task-card" data-task=${t.id}>
        <a href=${`#/tasks/${enc(t.id)}`}>${t.title}</a>
        <div class="sub">${t.assignee ? `${t.assignee} · ` : ""}attempt ${t.attempt}/${t.maxAttempts}${t.ready ? "" : " · waiting on dependencies"}</div>
        <div class="sub"><${Time} ms=${t.updatedAt} now=${now} /></div>
      </li>`)}
    </ul>`}
  </section>`;
}

// Requeue (needs_human → submitted, attempt 0) and Cancel, each confirmed; the outcome is a
// toast, a refusal (a 409) in the server's words both there and in the dialog.
function useTaskActions() {
  const [asking, setAsking] = useState(null); // {task, act}
  async function perform(task, act) {
    try {
      const after = await post(`/api/tasks/${enc(task.id)}/${act}`, {});
      upsertTasks([after]);
      toast({ kind: "ok", text: act === "requeue" ? `Requeued "${task.title}": it is ${statusText(after.status)}.` : `Canceled "${task.title}".` });
    } catch (e) {
      toast({ kind: "error", text: `${act === "requeue" ? "Requeue" : "Cancel"} "${task.title}": ${e.message}` });
      throw e;
    }
  }
  const dialog = asking && html`<${Confirm}
    title=${asking.act === "requeue" ? `Requeue "${asking.task.title}"?` : `Cancel "${asking.task.title}"?`}
    message=${asking.act === "requeue"
      ? "It goes back to submitted with its attempts reset, for any eligible agent to claim."
      : "A canceled task is final: it is never claimed again."}
    confirmLabel=${asking.act === "requeue" ? "Requeue" : "Cancel task"} danger=${asking.act === "cancel"}
    onClose=${() => setAsking(null)} onConfirm=${() => perform(asking.task, asking.act)} />`;
  return { ask: (task, act) => setAsking({ task, act }), dialog };
}

function NeedsHuman({ tasks, can, now, loaded }) {
  const actions = useTaskActions();
  const writable = can("task:write");
  return html`<section class="needs-human" aria-labelledby="needs-human-title">
    <h2 id="needs-human-title" class="section-title">Needs a human</h2>
    ${loaded && tasks.length === 0 && html`<p class="hint">No task needs a human.</p>`}
    ${tasks.length > 0 && html`<table class="grid as-cards needs-human-table">
      <caption class="sr-only">Tasks that need a human</caption>
      <thead><tr><th>Task</th><th>Attempts</th><th>Created by</th><th>Status message</th><th>Since</th><th><span class="sr-only">Actions</span></th></tr></thead>
      <tbody>${tasks.map((t) => html`<tr key=${t.id} data-task=${t.id}>
        <td data-label="Task"><a href=${`#/tasks/${enc(t.id)}`}>${t.title}</a><div class="sub"><code>${t.id}</code></div></td>
        <td data-label="Attempts">${t.attempt}/${t.maxAttempts}</td>
        <td data-label="Created by">${t.createdBy}</td>
        <td data-label="Status message">${t.statusMessage ?? "—"}</td>
        <td data-label="Since"><${Time} ms=${t.updatedAt} now=${now} /></td>
        <td data-label="Actions">${writable ? html`<span class="row-actions">
          <button class="primary" aria-label=${`Requeue ${t.title}`} onClick=${() => actions.ask(t, "requeue")}>Requeue</button>
          <button class="danger" aria-label=${`Cancel ${t.title}`} onClick=${() => actions.ask(t, "cancel")}>Cancel…</button>
        </span>` : html`<span class="sub">needs task:write</span>`}</td>
      </tr>`)}</tbody>
    </table>`}
    ${actions.dialog}
  </section>`;
}

// -- one task ---------------------------------------------------------------------------------

export function TaskPage({ id, can }) {
  if (!can("task:read")) return html`<${Empty}>Your token cannot read tasks (needs task:read).<//>`;
  return html`<${TaskView} id=${id} can=${can} />`;
}

function TaskView({ id, can }) {
  const s = useStore();
  const now = useNow();
  const [error, setError] = useState(null);
  const [activity, setActivity] = useState([]);
  const actions = useTaskActions();
  useEffect(() => {
    get(`/api/tasks/${enc(id)}`).then((task) => { recordTask(task); upsertTasks([task]); setError(null); })
      .catch((e) => setError(e.status === 404 ? `Task ${id} was not found.` : e.message));
  }, [id]);
  const task = s.tasks.get(id);
  // The audit feed's entries about this task ("Task needs a human"), when the token reads it:
  // read again when this task changes, not on every other task's event.
  useEffect(() => {
    get("/api/activity?view=tasks&limit=500")
      .then((events) => setActivity(events.filter((e) => e.metadata?.taskId === id)))
      .catch(() => setActivity([]));
  }, [id, task?.version]);
  if (!task) {
    return html`<section class="task-page"><p><a href="#/tasks">← Tasks</a></p>
      ${error ? html`<${ErrorText} error=${error} />` : html`<p class="hint">Loading task…</p>`}</section>`;
  }
  const hints = task.routingHints ?? {};
  const writable = can("task:write");
  const final = FINAL_STATUSES.includes(task.status);
  return html`<section class="task-page" aria-labelledby="task-title">
    <p><a href="#/tasks">← Tasks</a></p>
    <header class="task-head">
      <h2 id="task-title">${task.title}</h2>
      <${TaskStatus} value=${task.status} />
      ${writable && html`<span class="row-actions">
        ${task.status === "needs_human" && html`<button class="primary" onClick=${() => actions.ask(task, "requeue")}>Requeue</button>`}
        ${!final && html`<button class="danger" onClick=${() => actions.ask(task, "cancel")}>Cancel task…</button>`}
      </span>`}
    </header>
    <${ErrorText} error=${error} />
    ${actions.dialog}
    <dl class="facts task-facts">
      <dt>Id</dt><dd><code>${task.id}</code></dd>
      <dt>Assignee</dt><dd>${task.assignee ? html`<a href=${`#/agents/${enc(task.assignee)}`}>${task.assignee}</a>` : "—"}</dd>
      <dt>Created by</dt><dd>${task.createdBy}</dd>
      <dt>Attempt</dt><dd>${task.attempt} of ${task.maxAttempts}</dd>
      <dt>Ready</dt><dd>${task.ready ? "yes" : "no: waiting on dependencies"}</dd>
      <dt>Context</dt><dd><code>${task.contextId}</code></dd>
      ${task.leaseExpiresAt && html`<dt>Lease</dt><dd>expires <${Time} ms=${task.leaseExpiresAt} now=${now} future /></dd>`}
      <dt>Version</dt><dd>${task.version}</dd>
      <dt>Created</dt><dd><${Time} ms=${task.createdAt} now=${now} /></dd>
      <dt>Updated</dt><dd><${Time} ms=${task.updatedAt} now=${now} /></dd>
      ${task.dependsOn?.length > 0 && html`<dt>Depends on</dt><dd><${TaskLinks} ids=${task.dependsOn} /></dd>`}
      ${task.referenceTaskIds?.length > 0 && html`<dt>References</dt><dd><${TaskLinks} ids=${task.referenceTaskIds} /></dd>`}
    </dl>
    <h3>Routing hints</h3>
    <dl class="facts">
      <dt>Capabilities</dt><dd>${(hints.requiredCapabilities ?? []).join(", ") || "any"}</dd>
      <dt>Labels</dt><dd>${(hints.labels ?? []).join(", ") || "any"}</dd>
      <dt>Tags</dt><dd>${(hints.tags ?? []).join(", ") || "any"}</dd>
      <dt>Preferred agent</dt><dd>${hints.preferredAgentId ?? "none"}</dd>
      <dt>Provider</dt><dd>${hints.provider ?? "any"}</dd>
    </dl>
    ${task.body && html`<h3>Body</h3><pre class="task-body">${task.body}</pre>`}
    <h3>Status message</h3>
    ${task.statusMessage ? html`<p class="task-status-message">${task.statusMessage}</p>` : html`<p class="hint">None.</p>`}
    <h3>Result</h3>
    ${task.result === undefined || task.result === null ? html`<p class="hint">No result yet.</p>` : html`<div class="task-result"><${Json} value=${task.result} /></div>`}
    <h3>Artifacts</h3>
    <${Artifacts} refs=${task.artifacts ?? []} />
    <h3>History</h3>
    <${History} task=${task} steps=${s.taskHistory.get(task.id) ?? []} activity=${activity} now=${now} />
  </section>`;
}

function TaskLinks({ ids }) {
  return ids.map((other, n) => html`${n > 0 ? ", " : ""}<a href=${`#/tasks/${enc(other)}`}><code>${other}</code></a>`);
}

// The task keeps `{artifactId}` refs: each artifact's name, size and type are read from its
// own route (a secret one the token may not read stays a bare id).
function Artifacts({ refs }) {
  const [found, setFound] = useState({});
  const key = refs.map((r) => r.artifactId).join(",");
  useEffect(() => {
    for (const ref of refs) {
      if (found[ref.artifactId]) continue;
      get(`/api/artifacts/${enc(ref.artifactId)}`)
        .then((artifact) => setFound((before) => ({ ...before, [ref.artifactId]: { artifact } })))
        .catch((e) => setFound((before) => ({ ...before, [ref.artifactId]: { error: e.message } })));
    }
  }, [key]);
  if (refs.length === 0) return html`<p class="hint">No artifacts.</p>`;
  return html`<ul class="artifact-list" aria-label="Artifacts">
    ${refs.map((ref) => html`<${ArtifactItem} key=${ref.artifactId} id=${ref.artifactId} read=${found[ref.artifactId]} />`)}
  </ul>`;
}

function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function ArtifactItem({ id, read }) {
  const action = useAction();
  const artifact = read?.artifact;
  const name = artifact?.name ?? id;
  async function save() {
    await download(`/api/artifacts/${enc(id)}/content`, name);
    toast({ kind: "ok", text: `Downloaded ${name}.` });
  }
  return html`<li data-artifact=${id}>
    <span class="artifact-name">${name}</span>
    ${artifact && html`<span class="sub">${artifact.kind} · ${artifact.mediaType} · ${size(artifact.size)}${artifact.sensitivity === "secret" ? " · secret" : ""}</span>`}
    ${read?.error && html`<span class="sub">${read.error}</span>`}
    <button class="small" disabled=${action.busy || Boolean(read?.error)} aria-label=${`Download ${name}`}
      onClick=${() => action.run(save)}>Download</button>
    <${ErrorText} error=${action.error} />
  </li>`;
}

// What is known of the task's past: its creation, the audit entries about it, and every change
// the live stream brought while this dashboard was open (the relay keeps no per-task log).
function History({ task, steps, activity, now }) {
  const rows = [{ key: "created", at: task.createdAt, text: `created by ${task.createdBy}` }];
  for (const e of activity) rows.push({ key: `a-${e.id}`, at: e.createdAt, text: `${e.title}${e.body ? `: ${e.body}` : ""}` });
  for (const step of steps) {
    const who = step.assignee ? `, assignee ${step.assignee}` : "";
    const said = step.statusMessage ? `: ${step.statusMessage}` : "";
    rows.push({ key: `v-${step.version}`, at: step.at, text: `${statusText(step.status)}${who}${said} (version ${step.version})` });
  }
  rows.sort((a, b) => (a.at ?? 0) - (b.at ?? 0));
  return html`<ol class="task-history" aria-label="History">
    ${rows.map((row) => html`<li key=${row.key}><span>${row.text}</span> <${Time} ms=${row.at} now=${now} /></li>`)}
  </ol>`;
}
