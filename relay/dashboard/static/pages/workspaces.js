// Workspaces grouped by status, each repo's merge lease in view, and the workspace actions.
import { del, get, post } from "../api.js";
import { html, useEffect, useState } from "../html.js";
import { replaceAll, store, useStore } from "../store.js";
import { Confirm, Dialog, Empty, ErrorText, Status, Time, useAction, useNow } from "../ui.js";

const PAGE_ROWS = 150; // per status group; see fleet.js
const ORDER = ["active", "ready", "review_requested", "conflict", "merge_planned", "merged",
  "abandoned", "cleanup_requested", "cleaned"];

export function Workspaces({ can }) {
  const s = useStore();
  const now = useNow();
  const [error, setError] = useState(null);
  const [merging, setMerging] = useState(null);
  const [shown, setShown] = useState({});
  useEffect(() => {
    Promise.all([get("/api/workspaces"), get("/api/merge-leases")])
      .then(([workspaces, leases]) => {
        replaceAll(store.workspaces, workspaces);
        replaceAll(store.leases, leases, (lease) => lease.repoRoot);
        store.loaded.add("workspaces");
      })
      .catch((e) => setError(e.message));
  }, []);
  const byStatus = new Map(ORDER.map((status) => [status, []]));
  for (const ws of s.workspaces.values()) byStatus.get(ws.status)?.push(ws);
  const leases = [...s.leases.values()];
  return html`<section>
    <${ErrorText} error=${error} />
    ${leases.length > 0 && html`<ul class="leases" aria-label="Merge leases">${leases.map((lease) => html`<li key=${lease.repoRoot}>
      Merge in progress for <code>${lease.repoRoot}</code>: workspace <code>${lease.workspaceId}</code>,
      since <${Time} ms=${lease.acquiredAt} now=${now} /> (by ${lease.holder})</li>`)}</ul>`}
    ${s.loaded.has("workspaces") && s.workspaces.size === 0 && html`<${Empty}>
      No workspaces yet. Orchestrators report a workspace when they create a worktree
      (spawn with workspace mode <code>isolated</code>).
    <//>`}
    ${ORDER.filter((status) => byStatus.get(status).length > 0).map((status) => html`<section class="group" key=${status}>
      <h2><${Status} value=${status} /> <span class="count">${byStatus.get(status).length}</span></h2>
      <table class="grid fixed">
        <colgroup><col class="w20" /><col class="w24" /><col class="w12" /><col class="w9" /><col /></colgroup>
        <thead><tr><th>Branch</th><th>Repository</th><th>Owner</th><th>Updated</th><th>Actions</th></tr></thead>
        <tbody>${byStatus.get(status).sort((a, b) => b.updatedAt - a.updatedAt).slice(0, shown[status] ?? PAGE_ROWS).map((ws) => html`
          <${Row} key=${ws.id} ws=${ws} can=${can} now=${now} lease=${s.leases.get(ws.repoRoot)}
                 onMerge=${() => setMerging(ws)} />`)}</tbody>
      </table>
      ${byStatus.get(status).length > (shown[status] ?? PAGE_ROWS) && html`<button class="more"
        onClick=${() => setShown({ ...shown, [status]: (shown[status] ?? PAGE_ROWS) + PAGE_ROWS })}>
        Show more (${byStatus.get(status).length - (shown[status] ?? PAGE_ROWS)} hidden)</button>`}
    </section>`)}
    ${merging && html`<${MergeForm} ws=${merging} onClose=${() => setMerging(null)} />`}
  </section>`;
}

function Row({ ws, can, now, lease, onMerge }) {
  const action = useAction();
  const [confirm, setConfirm] = useState(null);
  const path = `/api/workspaces/${encodeURIComponent(ws.id)}`;
  const act = (name) => action.run(() => post(`${path}/actions`, { action: name }));
  const mergeable = ["active", "ready", "review_requested", "conflict"].includes(ws.status);
  const commandWriter = can("command:write");
  const agentWriter = can("agent:write");
  return html`<tr>
    <td><strong>${ws.branch ?? ws.id}</strong><div class="sub">${ws.id}</div>
      ${ws.metadata?.mergeError && html`<div class="error small">${ws.metadata.mergeError}</div>`}</td>
    <td><code>${ws.repoRoot}</code>${lease && lease.workspaceId !== ws.id && mergeable
      && html`<div class="sub">merge in progress for this repo: workspace ${lease.workspaceId}</div>`}</td>
    <td>${ws.agentId ?? "—"}<div class="sub">${ws.orchestratorId ?? ""}</div></td>
    <td><${Time} ms=${ws.updatedAt} now=${now} /></td>
    <td><div class="row-actions">
      <button disabled=${!commandWriter || !mergeable || action.busy}
              title=${commandWriter ? "" : "needs command:write"} onClick=${onMerge}>Merge…</button>
      <button disabled=${!agentWriter || action.busy} onClick=${() => act("request-review")}>Request review</button>
      <button disabled=${!agentWriter || action.busy} onClick=${() => setConfirm("abandon")}>Abandon</button>
      <button disabled=${!commandWriter || action.busy} onClick=${() => setConfirm("cleanup")}>Cleanup</button>
      <button class="danger" disabled=${!agentWriter || action.busy} onClick=${() => setConfirm("delete")}>Delete record</button>
      <${ErrorText} error=${action.error} />
      ${confirm && html`<${Confirm} danger title=${`${confirm === "delete" ? "Delete the record of" : confirm[0].toUpperCase() + confirm.slice(1)} ${ws.branch ?? ws.id}?`}
        message=${confirm === "cleanup" ? "The orchestrator removes the worktree (it refuses if there are uncommitted changes)."
          : confirm === "delete" ? "Only the record is purged; nothing on disk is touched." : "The workspace is marked abandoned."}
        confirmLabel=${confirm === "delete" ? "Delete record" : confirm[0].toUpperCase() + confirm.slice(1)}
        onClose=${() => setConfirm(null)}
        onConfirm=${() => (confirm === "delete" ? del(path) : post(`${path}/actions`, { action: confirm }))} />`}
    </div></td>
  </tr>`;
}

function MergeForm({ ws, onClose }) {
  const [form, setForm] = useState({ strategy: "auto", deleteBranch: true, prTitle: "", prBody: "" });
  const action = useAction();
  async function submit(event) {
    event.preventDefault();
    const body = { action: "merge", strategy: form.strategy, deleteBranch: form.deleteBranch };
    if (form.prTitle) body.prTitle = form.prTitle;
    if (form.prBody) body.prBody = form.prBody;
    const reply = await action.run(() => post(`/api/workspaces/${encodeURIComponent(ws.id)}/actions`, body));
    if (reply) onClose();
  }
  return html`<${Dialog} title=${`Merge ${ws.branch ?? ws.id}`} onClose=${onClose}>
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
