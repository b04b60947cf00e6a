// Workspaces grouped by status, each repo's merge queue, and the workspace actions: only those
// the status machine allows (GET /api/workspace-transitions), one at a time or in bulk.
import { ApiError, del, get, post } from "../api.js";
import { html, pure, useEffect, useMemo, useRef, useState } from "../html.js";
import { changed, commandWatchers, replaceAll, store, useStore } from "../store.js";
import { toast } from "../toast.js";
import { Confirm, Dialog, Empty, ErrorText, Status, Time, useAction, useNow } from "../ui.js";
import { useLayoutEffect } from "../vendor/preact-hooks.mjs";

const PAGE_ROWS = 150; // per status group; see fleet.js
const ORDER = ["active", "ready", "review_requested", "conflict", "merge_planned", "merged",
  "abandoned", "cleanup_requested", "cleaned"];
const WAITING = new Set(["ready", "review_requested"]);

// The contract's table: used only when the relay predates GET /api/workspace-transitions.
const FALLBACK_TRANSITIONS = {
  status: ORDER,
  "conflict-found": ["active", "ready", "review_requested", "conflict", "merge_planned"],
  "request-review": ["active", "ready", "conflict", "review_requested"],
  "merge-plan": ["active", "ready", "review_requested", "conflict"],
  merge: ["active", "ready", "review_requested", "conflict"],
  abandon: ["active", "ready", "conflict", "review_requested"],
  cleanup: ["active", "ready", "conflict", "review_requested", "merged", "abandoned", "cleanup_requested"],
};

let transitions = null; // fetched once per page load: the table does not change at runtime
function loadTransitions() {
  transitions ??= get("/api/workspace-transitions")
    .then((reply) => reply.actions)
    .catch((e) => {
      if (!(e instanceof ApiError && e.status === 404)) transitions = null; // retry next time
      return FALLBACK_TRANSITIONS;
    });
  return transitions;
}

const label = (ws) => ws.branch ?? ws.id;
const statusText = (status) => status.replaceAll("_", " ");
const rowId = (id) => `ws-${id}`;

// The relay's refusal when nobody can remove the worktree; the page offers the record delete.
const ORPHAN = "no orchestrator owns this workspace path";
const isOrphan = (e) => e instanceof ApiError && e.status === 409 && e.message.startsWith(ORPHAN);
const friendly = (e) => (isOrphan(e) ? "no orchestrator manages its folder (delete the record instead)" : e.message);

const VERB = {
  "request-review": "Review requested for", abandon: "Abandoned", cleanup: "Cleanup requested for",
};

function upsert(reply) {
  if (reply?.workspace) { store.workspaces.set(reply.workspace.id, reply.workspace); changed(); }
  if (reply?.command && !store.commands.has(reply.command.id)) {
    store.commands.set(reply.command.id, reply.command);
    changed();
  }
}

// Merge and cleanup only queue a command for the orchestrator; what became of it arrives as
// `command` events. Follow those commands (wherever the user goes meanwhile) and replace the
// row's toast with the result.
const SETTLED = new Set(["succeeded", "failed", "cancelled", "expired"]);
const OUTCOME_KIND = { succeeded: "ok", failed: "error", expired: "error", cancelled: "info" };
const followed = new Map(); // command id → { what, key, status }

function follow(reply, what, ws) {
  if (!reply?.command) return;
  followed.set(reply.command.id, { what, key: `ws-${ws.id}`, status: reply.command.status });
  // Its events may have overtaken the reply that named it.
  const known = store.commands.get(reply.command.id);
  if (known) onCommand(known);
}

// Called with every `command` event (store.js), so each step shows as it happens.
function onCommand(command) {
  const about = followed.get(command.id);
  if (!about || command.status === about.status) return;
  about.status = command.status;
  const settled = SETTLED.has(command.status);
  const outcome = command.status === "failed" ? `failed: ${command.error || "no error text was reported"}`
    : command.status === "expired" ? "expired: the orchestrator never acknowledged it" : command.status;
  toast({ kind: OUTCOME_KIND[command.status] ?? "info", key: about.key, text: `${about.what}: ${outcome}`, sticky: !settled });
  if (settled) followed.delete(command.id);
}
commandWatchers.add(onCommand);

function reveal(id) {
  const row = document.getElementById(rowId(id));
  if (!row) return;
  row.scrollIntoView({ block: "center", behavior: "smooth" });
  row.classList.remove("moved");
  void row.offsetWidth; // restart the highlight animation
  row.classList.add("moved");
}

// The outcome of an act on one workspace, saying where its row went (without scrolling there).
function announce(action, ws, reply) {
  const now = reply?.workspace ?? ws;
  const moved = now.status !== ws.status;
  toast({
    kind: "ok",
    key: `ws-${ws.id}`,
    text: html`${VERB[action] ?? action} <strong>${label(ws)}</strong>${moved
      ? html`: now under “${statusText(now.status)}”. <button class="link" onClick=${() => reveal(ws.id)}>Show it</button>`
      : "."}`,
  });
}

export function Workspaces({ can }) {
  const s = useStore();
  const now = useNow();
  const [error, setError] = useState(null);
  const [merging, setMerging] = useState(null);
  const [shown, setShown] = useState({});
  const [allowed, setAllowed] = useState(null);
  const [selected, setSelected] = useState(() => new Set());
  const [bulk, setBulk] = useState(null);
  const [moved, setMoved] = useState(null);
  // A row whose status changes moves to another group; keep the page where the user was.
  const [pin, setPin] = useState(null);
  useEffect(() => {
    loadTransitions().then(setAllowed);
    Promise.all([get("/api/workspaces"), get("/api/merge-leases")])
      .then(([workspaces, leases]) => {
        replaceAll(store.workspaces, workspaces);
        replaceAll(store.leases, leases, (lease) => lease.repoRoot);
        store.loaded.add("workspaces");
        // The queue's own view: complete even where the workspace list is cut short.
        return get("/api/merge-queue").then((queue) => {
          for (const entry of queue) {
            if (entry.lease) store.leases.set(entry.repoRoot, entry.lease);
            for (const ws of entry.waiting) store.workspaces.set(ws.id, ws);
          }
          changed();
        }).catch(() => {}); // an older relay: the queue is derived from the lists alone
      })
      .catch((e) => setError(e.message));
  }, []);
  useLayoutEffect(() => {
    if (!pin) return;
    if (Date.now() - pin.at > 5000) { setPin(null); return; } // the act changed nothing
    const ws = s.workspaces.get(pin.id);
    if (!ws || ws.status !== pin.status) {
      window.scrollTo(window.scrollX, pin.y);
      setPin(null);
    }
  });
  // Before the request: remember where the page was; after it succeeded: highlight the row.
  const acting = (ws) => setPin({ id: ws.id, status: ws.status, y: window.scrollY, at: Date.now() });
  const may = useMemo(() => (action, status) => Boolean(allowed?.[action]?.includes(status)), [allowed]);
  const byStatus = new Map(ORDER.map((status) => [status, []]));
  for (const ws of s.workspaces.values()) byStatus.get(ws.status)?.push(ws);
  const merged = byStatus.get("merged");
  const chosen = [...selected].map((id) => s.workspaces.get(id)).filter(Boolean);
  const toggle = (id) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id); else next.add(id);
    setSelected(next);
  };
  // Rows re-render only when their own props change (a burst of events then costs the rows it
  // touched, not all 500): their callbacks go through this one stable ref.
  const rowActions = useRef({});
  rowActions.current = {
    pick: toggle, acting, acted: (ws) => setMoved(ws.id), merge: (ws) => setMerging(ws),
  };
  return html`<section class="workspaces">
    <${ErrorText} error=${error} />
    <${MergeQueue} s=${s} now=${now} can=${can} />
    <div class="toolbar bulk" aria-label="Bulk actions" role="group">
      ${chosen.length > 0 && html`<span>${chosen.length} selected</span>
        ${can("command:write") && html`<button onClick=${() => setBulk({ action: "cleanup", list: chosen })}>Clean up…</button>`}
        ${can("agent:write") && html`<button onClick=${() => setBulk({ action: "abandon", list: chosen })}>Abandon…</button>`}
        <button onClick=${() => setSelected(new Set())}>Clear selection</button>`}
      ${can("command:write") && merged.length > 0 && allowed && may("cleanup", "merged")
        && html`<button onClick=${() => setBulk({ action: "cleanup", list: merged, merged: true })}>Clean up merged (${merged.length})…</button>`}
    </div>
    ${s.loaded.has("workspaces") && s.workspaces.size === 0 && html`<${Empty}>
      No workspaces yet. Orchestrators report a workspace when they create a worktree
      (spawn with workspace mode <code>isolated</code>).
    <//>`}
    ${ORDER.filter((status) => byStatus.get(status).length > 0).map((status) => html`<section class="group" key=${status}>
      <h2><${Status} value=${status} /> <span class="count">${byStatus.get(status).length}</span></h2>
      <table class="grid fixed as-cards ws-table">
        <colgroup><col class="w-check" /><col class="w20" /><col class="w20" /><col class="w12" /><col class="w14" /><col class="w9" /><col /></colgroup>
        <thead><tr><th><${SelectAll} rows=${byStatus.get(status)} status=${status} selected=${selected} onChange=${setSelected} /></th><th>Branch</th><th>Repository</th><th>Owner</th><th>Git</th><th>Updated</th><th>Actions</th></tr></thead>
        <tbody>${byStatus.get(status).sort((a, b) => b.updatedAt - a.updatedAt).slice(0, shown[status] ?? PAGE_ROWS).map((ws) => html`
          <${Row} key=${ws.id} ws=${ws} can=${can} now=${now} lease=${s.leases.get(ws.repoRoot)} may=${may}
                 picked=${selected.has(ws.id)} highlight=${moved === ws.id} actions=${rowActions} />`)}</tbody>
      </table>
      ${byStatus.get(status).length > (shown[status] ?? PAGE_ROWS) && html`<button class="more"
        onClick=${() => setShown({ ...shown, [status]: (shown[status] ?? PAGE_ROWS) + PAGE_ROWS })}>
        Show more (${byStatus.get(status).length - (shown[status] ?? PAGE_ROWS)} hidden)</button>`}
    </section>`)}
    ${merging && html`<${MergeForm} ws=${merging} onClose=${() => setMerging(null)}
      onDone=${() => { acting(merging); setMoved(merging.id); }} />`}
    ${bulk && html`<${BulkConfirm} bulk=${bulk} may=${may} onClose=${() => setBulk(null)}
      onDone=${() => setSelected(new Set())} />`}
  </section>`;
}

function SelectAll({ rows, status, selected, onChange }) {
  const all = rows.length > 0 && rows.every((ws) => selected.has(ws.id));
  function toggle() {
    const next = new Set(selected);
    for (const ws of rows) if (all) next.delete(ws.id); else next.add(ws.id);
    onChange(next);
  }
  return html`<input type="checkbox" checked=${all} onChange=${toggle}
    aria-label=${`Select all ${statusText(status)} workspaces`} />`;
}

// One card per repository with a merge lease or workspaces waiting to merge, oldest first.
function MergeQueue({ s, now, can }) {
  const [releasing, setReleasing] = useState(null);
  const repos = new Map();
  const entry = (repoRoot) => {
    if (!repos.has(repoRoot)) repos.set(repoRoot, { repoRoot, lease: null, waiting: [] });
    return repos.get(repoRoot);
  };
  for (const lease of s.leases.values()) entry(lease.repoRoot).lease = lease;
  for (const ws of s.workspaces.values()) if (WAITING.has(ws.status)) entry(ws.repoRoot).waiting.push(ws);
  if (repos.size === 0) return null;
  const admin = can("token:admin");
  return html`<section class="queue" aria-labelledby="queue-title">
    <h2 id="queue-title">Merge queue</h2>
    <ul class="queue-list">${[...repos.values()].sort((a, b) => a.repoRoot.localeCompare(b.repoRoot)).map(({ repoRoot, lease, waiting }) => {
      const holder = lease && s.workspaces.get(lease.workspaceId);
      return html`<li key=${repoRoot} class="queue-repo" aria-label=${`Merge queue of ${repoRoot}`}>
        <h3><code class="path" title=${repoRoot}>${repoRoot}</code></h3>
        ${lease ? html`<div class="lease">
          <p>Merging <strong>${holder ? label(holder) : lease.workspaceId}</strong>
            ${holder && holder.branch && html` <span class="sub">${lease.workspaceId}</span>`}</p>
          <dl class="facts">
            <dt>Lease holder</dt><dd>${lease.holder}</dd>
            <dt>Since</dt><dd><${Time} ms=${lease.acquiredAt} now=${now} /></dd>
            <dt>Expires</dt><dd><${Time} ms=${lease.expiresAt} now=${now} future /></dd>
          </dl>
          ${admin && html`<button class="danger" onClick=${() => setReleasing(lease)}>Force release</button>`}
        </div>` : html`<p class="sub">No merge in progress.</p>`}
        ${waiting.length > 0 ? html`<p class="sub">Waiting (${waiting.length}), oldest first:</p>
          <ol class="waiting">${waiting.sort((a, b) => a.updatedAt - b.updatedAt).map((ws) => html`<li key=${ws.id}>
            <strong>${label(ws)}</strong> <${Status} value=${ws.status} /> <${Time} ms=${ws.updatedAt} now=${now} /></li>`)}</ol>`
          : html`<p class="sub">Nothing waiting.</p>`}
      </li>`;
    })}</ul>
    ${releasing && html`<${Confirm} danger title=${`Force release the merge lease on ${releasing.repoRoot}?`}
      message=${`Only for a stuck merge: the orchestrator may still be merging workspace ${releasing.workspaceId}. The next ready workspace can then take the lease.`}
      confirmLabel="Force release" onClose=${() => setReleasing(null)}
      onConfirm=${async () => {
        await del(`/api/merge-leases?repoRoot=${encodeURIComponent(releasing.repoRoot)}`);
        store.leases.delete(releasing.repoRoot);
        changed();
        toast({ kind: "ok", text: `Merge lease on ${releasing.repoRoot} released.` });
      }} />`}
  </section>`;
}

function Git({ git }) {
  const [open, setOpen] = useState(false);
  if (!git || typeof git !== "object") return "—";
  const files = Array.isArray(git.changedFiles) ? git.changedFiles : [];
  const total = git.changedFilesTotal ?? files.length;
  return html`<div class="git">
    <span title="commits ahead of / behind the base">${git.ahead ?? "?"} ahead · ${git.behind ?? "?"} behind</span>
    ${git.dirty && html` <span class="tag">uncommitted changes</span>`}
    ${total > 0 ? html`<details class="files" onToggle=${(e) => setOpen(e.currentTarget.open)}>
      <summary>${total} changed file${total === 1 ? "" : "s"}</summary>
      ${open && html`<ul>${files.map((path) => html`<li key=${path}><code>${path}</code></li>`)}</ul>
        ${total > files.length && html`<p class="sub">and ${total - files.length} more</p>`}`}
    </details>` : html`<div class="sub">no changed files</div>`}
  </div>`;
}

const Row = pure((props) => html`<${RowView} ...${props} />`);

function RowView({ ws, can, now, lease, may, picked, highlight, actions }) {
  const onPick = () => actions.current.pick(ws.id);
  const onActing = () => actions.current.acting(ws);
  const onActed = () => actions.current.acted(ws);
  const onMerge = () => actions.current.merge(ws);
  const action = useAction();
  const [confirm, setConfirm] = useState(null);
  const [orphan, setOrphan] = useState(false);
  const path = `/api/workspaces/${encodeURIComponent(ws.id)}`;
  const commandWriter = can("command:write");
  const agentWriter = can("agent:write");
  async function act(name) {
    onActing();
    const reply = await post(`${path}/actions`, { action: name });
    onActed();
    upsert(reply);
    announce(name, ws, reply);
    follow(reply, `${name === "cleanup" ? "Cleanup" : name} of ${label(ws)}`, ws);
    return reply;
  }
  async function cleanup() {
    try { await act("cleanup"); } catch (e) { if (isOrphan(e)) { setOrphan(true); return; } throw e; }
  }
  async function purge() {
    await del(path);
    store.workspaces.delete(ws.id);
    changed();
    toast({ kind: "ok", key: `ws-${ws.id}`, text: `Record of ${label(ws)} deleted.` });
  }
  const needs = (scope, ok) => (ok ? "" : `needs ${scope}`);
  return html`<tr id=${rowId(ws.id)} class=${highlight ? "moved" : ""}>
    <td class="check" data-label="Select"><input type="checkbox" checked=${picked} onChange=${onPick}
      aria-label=${`Select ${label(ws)}`} /></td>
    <td data-label="Branch"><strong class="ws-name">${label(ws)}</strong><div class="sub">${ws.id}</div>
      ${ws.metadata?.mergeError && html`<div class="error small">${ws.metadata.mergeError}</div>`}</td>
    <td data-label="Repository"><code class="path">${ws.repoRoot}</code>${lease && lease.workspaceId !== ws.id && may("merge", ws.status)
      && html`<div class="sub">merge in progress for this repo: workspace ${lease.workspaceId}</div>`}</td>
    <td data-label="Owner">${ws.agentId ?? "—"}<div class="sub">${ws.orchestratorId ?? ""}</div></td>
    <td data-label="Git"><${Git} git=${ws.metadata?.git} /></td>
    <td data-label="Updated"><${Time} ms=${ws.updatedAt} now=${now} /></td>
    <td data-label="Actions"><div class="row-actions">
      ${may("merge", ws.status) && html`<button disabled=${!commandWriter || action.busy}
        title=${needs("command:write", commandWriter)} onClick=${onMerge}>Merge…</button>`}
      ${may("request-review", ws.status) && html`<button disabled=${!agentWriter || action.busy}
        title=${needs("agent:write", agentWriter)} onClick=${() => action.run(() => act("request-review"))}>Request review</button>`}
      ${may("abandon", ws.status) && html`<button disabled=${!agentWriter || action.busy}
        title=${needs("agent:write", agentWriter)} onClick=${() => setConfirm("abandon")}>Abandon</button>`}
      ${may("cleanup", ws.status) && html`<button disabled=${!commandWriter || action.busy}
        title=${needs("command:write", commandWriter)} onClick=${() => setConfirm("cleanup")}>Cleanup</button>`}
      ${html`<button class="danger" disabled=${!agentWriter || action.busy}
        title=${needs("agent:write", agentWriter)} onClick=${() => setConfirm("delete")}>Delete record</button>`}
    </div>
      <${ErrorText} error=${action.error} />
      ${orphan && html`<div class="notice" role="alert">
        <p>No orchestrator manages this workspace's folder any more, so nothing on disk can be
          cleaned up from here. You can still remove the workspace from this list.</p>
        <button class="danger" disabled=${!agentWriter} onClick=${() => setConfirm("delete")}>Delete the record</button>
      </div>`}
      ${confirm && html`<${Confirm} danger title=${`${confirm === "delete" ? "Delete the record of" : confirm[0].toUpperCase() + confirm.slice(1)} ${label(ws)}?`}
        message=${confirm === "cleanup" ? "The orchestrator removes the worktree (it refuses if there are uncommitted changes)."
          : confirm === "delete" ? "Only the record is purged; nothing on disk is touched." : "The workspace is marked abandoned."}
        confirmLabel=${confirm === "delete" ? "Delete record" : confirm[0].toUpperCase() + confirm.slice(1)}
        onClose=${() => setConfirm(null)}
        onConfirm=${() => (confirm === "delete" ? purge() : confirm === "cleanup" ? cleanup() : act(confirm))} />`}
    </td>
  </tr>`;
}

// Cleanup / abandon on many workspaces: confirms with the count, then one toast sums it up.
function BulkConfirm({ bulk, may, onClose, onDone }) {
  const { action, list } = bulk;
  const eligible = list.filter((ws) => may(action, ws.status));
  const skipped = list.length - eligible.length;
  const noun = (n) => `${n} ${bulk.merged ? "merged " : ""}workspace${n === 1 ? "" : "s"}`;
  const verb = action === "cleanup" ? "Clean up" : "Abandon";
  async function run() {
    const results = await Promise.allSettled(eligible.map((ws) =>
      post(`/api/workspaces/${encodeURIComponent(ws.id)}/actions`, { action }).then(upsert)));
    const failed = results.map((r, i) => [r, eligible[i]]).filter(([r]) => r.status === "rejected");
    const done = eligible.length - failed.length;
    const parts = [`${verb}: ${done} of ${eligible.length} done`];
    if (skipped) parts.push(`${skipped} skipped (not allowed in their status)`);
    if (failed.length) parts.push(`failed: ${failed.slice(0, 3).map(([r, ws]) => `${label(ws)} (${friendly(r.reason)})`).join("; ")}${failed.length > 3 ? ` and ${failed.length - 3} more` : ""}`);
    toast({ kind: failed.length ? "error" : "ok", text: `${parts.join(", ")}.` });
    onDone();
  }
  if (eligible.length === 0) {
    return html`<${Dialog} title=${`${verb}`} onClose=${onClose}>
      <p>None of the selected workspaces can be ${action === "cleanup" ? "cleaned up" : "abandoned"} in their status.</p>
      <div class="actions"><button class="primary" onClick=${onClose}>OK</button></div>
    <//>`;
  }
  return html`<${Confirm} danger title=${`${verb} ${noun(eligible.length)}?`}
    message=${`${action === "cleanup" ? "Each worktree is removed by its orchestrator (it refuses where there are uncommitted changes)." : "Each workspace is marked abandoned."}${skipped ? ` ${skipped} selected cannot be, in their status, and are skipped.` : ""}`}
    confirmLabel=${`${verb} ${eligible.length}`} onClose=${onClose} onConfirm=${run} />`;
}

function MergeForm({ ws, onClose, onDone }) {
  const [form, setForm] = useState({ strategy: "auto", deleteBranch: true, prTitle: "", prBody: "" });
  const action = useAction();
  async function submit(event) {
    event.preventDefault();
    const body = { action: "merge", strategy: form.strategy, deleteBranch: form.deleteBranch };
    if (form.prTitle) body.prTitle = form.prTitle;
    if (form.prBody) body.prBody = form.prBody;
    const reply = await action.run(() => post(`/api/workspaces/${encodeURIComponent(ws.id)}/actions`, body));
    if (reply) {
      onDone();
      upsert(reply);
      follow(reply, `Merge of ${label(ws)}`, ws);
      toast({ kind: "ok", key: `ws-${ws.id}`, text: html`Merge of <strong>${label(ws)}</strong> requested.` });
      onClose();
    }
  }
  return html`<${Dialog} title=${`Merge ${label(ws)}`} onClose=${onClose}>
    <form class="form" onSubmit=${submit}>
      <label>Strategy <select value=${form.strategy} onChange=${(e) => setForm({ ...form, strategy: e.target.value })}>
        <option value="auto">auto (fast-forward, else rebase)</option><option value="rebase-ff">rebase-ff</option>
        <option value="pr">pull request</option></select></label>
      <label class="check"><input type="checkbox" checked=${form.deleteBranch}
        onChange=${(e) => setForm({ ...form, deleteBranch: e.target.checked })} /> Delete the branch after merging</label>
      <label>PR title <input maxlength="240" value=${form.prTitle} onInput=${(e) => setForm({ ...form, prTitle: e.target.value })} /></label>
      <label>PR body <textarea maxlength="8000" rows="4" value=${form.prBody} onInput=${(e) => setForm({ ...form, prBody: e.target.value })}></textarea></label>
      <${ErrorText} error=${action.error} />
      <div class="actions"><button type="button" onClick=${onClose}>Cancel</button>
        <button class="primary" type="submit" disabled=${action.busy}>Merge</button></div>
    </form>
  <//>`;
}
