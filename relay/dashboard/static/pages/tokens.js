// Tokens (admins only): the records, issuing a token (shown once), revoking one.
import { del, get, post } from "../api.js";
import { html, useEffect, useState } from "../html.js";
import { toast } from "../toast.js";
import { Confirm, Dialog, Empty, ErrorText, Time, useAction, useNow } from "../ui.js";

const SCOPES = ["agent:read", "agent:write", "command:read", "command:write", "config:read",
  "config:write", "activity:read", "activity:write", "token:admin", "message:read", "message:write",
  "task:read", "task:write", "memory:read", "memory:write"];
const PROFILES = ["dashboard", "orchestrator", "provider-agent", "integration", "mcp"];

export function Tokens() {
  const now = useNow(30000);
  const [records, setRecords] = useState(null);
  const [issuing, setIssuing] = useState(false);
  const [revoking, setRevoking] = useState(null);
  const [error, setError] = useState(null);
  const load = () => get("/api/tokens").then(setRecords).catch((e) => setError(e.message));
  useEffect(() => { load(); }, []);
  return html`<section>
    <div class="toolbar"><button class="primary" onClick=${() => setIssuing(true)}>Issue token…</button></div>
    <${ErrorText} error=${error} />
    ${records && records.length === 0 && html`<${Empty}>No tokens issued yet.<//>`}
    <table class="grid fixed as-cards tokens-table">
      <colgroup><col class="w20" /><col class="w12" /><col class="w24" /><col class="w14" /><col class="w9" /><col class="w11" /><col /></colgroup>
      <thead><tr><th>Subject</th><th>Role / profile</th><th>Scopes</th><th>Constraints</th><th>Created</th><th>Expires</th><th><span class="sr-only">Actions</span></th></tr></thead>
      <tbody>${(records ?? []).map((r) => html`<tr key=${r.jti} class=${r.revokedAt ? "muted" : ""}>
        <td data-label="Subject"><span class="clip subject" title=${r.sub}>${r.sub}</span>
          <code class="clip sub jti" title=${`token id ${r.jti}`}>${r.jti}</code></td>
        <td data-label="Role / profile"><${Role} record=${r} /></td>
        <td data-label="Scopes"><span class="tags">${r.scope.map((scope) => html`<span class="tag" key=${scope} title=${scope}>${scope}</span>`)}</span></td>
        <td data-label="Constraints"><${Constraints} value=${r.constraints} /></td>
        <td data-label="Created"><${Time} ms=${r.createdAt} now=${now} />${r.createdBy && html`<span class="clip sub" title=${`issued by ${r.createdBy}`}>by ${r.createdBy}</span>`}</td>
        <td data-label="Expires">${r.revokedAt ? html`revoked <${Time} ms=${r.revokedAt} now=${now} />`
          : r.expiresAt <= now ? html`expired <${Time} ms=${r.expiresAt} now=${now} />`
          : html`<${Time} ms=${r.expiresAt} now=${now} future />`}</td>
        <td data-label="Actions">${!r.revokedAt && html`<button class="danger" aria-label=${`Revoke the token of ${r.sub}`} onClick=${() => setRevoking(r)}>Revoke</button>`}</td>
      </tr>`)}</tbody>
    </table>
    ${issuing && html`<${IssueForm} onClose=${() => { setIssuing(false); load(); }} />`}
    ${revoking && html`<${Confirm} danger title=${`Revoke the token of ${revoking.sub}?`}
      message="It stops working on its very next request." confirmLabel="Revoke"
      onClose=${() => { setRevoking(null); load(); }} onConfirm=${async () => {
        await del(`/api/tokens/${encodeURIComponent(revoking.jti)}`);
        toast({ kind: "ok", text: `Revoked the token of ${revoking.sub}.` });
      }} />`}
  </section>`;
}

// What a token is for: orchestrator tokens (minted when a host registers) say so plainly.
function Role({ record }) {
  const profile = record.profileId && record.profileId !== record.role ? record.profileId : null;
  return html`<span class="role">${record.role}</span>
    ${record.role === "orchestrator" && html`<span class="sub clip" title="used by the orchestrator daemon on that host">host daemon</span>`}
    ${profile && html`<span class="sub clip" title=${`profile ${profile}`}>profile ${profile}</span>`}`;
}

function Constraints({ value }) {
  const entries = Object.entries(value ?? {});
  if (entries.length === 0) return "—";
  return html`<ul class="plain constraints">${entries.map(([key, list]) => html`<li key=${key}>
    <span class="sub">${key}</span> <span class="tags">${(Array.isArray(list) ? list : [String(list)]).map((item) => html`<span class="tag" key=${item} title=${item}>${item}</span>`)}</span></li>`)}</ul>`;
}

function IssueForm({ onClose }) {
  const [form, setForm] = useState({ profile: "dashboard", sub: "", scope: [], constraints: "", ttlHours: "24" });
  const [issued, setIssued] = useState(null);
  const [copied, setCopied] = useState(false);
  const action = useAction();
  const toggle = (scope) => setForm({
    ...form, scope: form.scope.includes(scope) ? form.scope.filter((s) => s !== scope) : [...form.scope, scope],
  });
  async function submit(event) {
    event.preventDefault();
    let constraints;
    if (form.constraints.trim()) {
      try { constraints = JSON.parse(form.constraints); } catch { action.setError("constraints must be a JSON object"); return; }
    }
    const body = { sub: form.sub, profile: form.profile, ttlSeconds: Math.round(Number(form.ttlHours) * 3600) };
    if (form.scope.length) body.scope = form.scope;
    if (constraints) body.constraints = constraints;
    const reply = await action.run(() => post("/api/tokens", body));
    if (reply) setIssued(reply);
  }
  async function copy() {
    await navigator.clipboard.writeText(issued.token);
    setCopied(true);
  }
  return html`<${Dialog} title="Issue a token" onClose=${onClose}>
    ${issued ? html`<p>Copy this token now: it is not shown again.</p>
      <textarea class="code" readOnly rows="4" aria-label="New token">${issued.token}</textarea>
      <div class="actions"><button onClick=${copy}>${copied ? "Copied" : "Copy"}</button>
        <button class="primary" onClick=${onClose}>Done</button></div>` : html`
    <form class="form" onSubmit=${submit}>
      <label>Profile <select value=${form.profile} onChange=${(e) => setForm({ ...form, profile: e.target.value })}>
        ${PROFILES.map((p) => html`<option value=${p}>${p}</option>`)}</select></label>
      <label>Subject <input required value=${form.sub} placeholder="who or what will use it"
        onInput=${(e) => setForm({ ...form, sub: e.target.value })} /></label>
      <fieldset><legend>Scopes (default: the profile's)</legend>
        ${SCOPES.map((scope) => html`<label class="check" key=${scope}><input type="checkbox"
          checked=${form.scope.includes(scope)} onChange=${() => toggle(scope)} /> ${scope}</label>`)}</fieldset>
      <label>Constraints (JSON) <textarea class="code" rows="3" placeholder='{"orchestrators": ["host-1"]}'
        value=${form.constraints} onInput=${(e) => setForm({ ...form, constraints: e.target.value })}></textarea></label>
      <label>Lifetime (hours) <input type="number" min="1" value=${form.ttlHours}
        onInput=${(e) => setForm({ ...form, ttlHours: e.target.value })} /></label>
      <${ErrorText} error=${action.error} />
      <div class="actions"><button type="button" onClick=${onClose}>Cancel</button>
        <button class="primary" type="submit" disabled=${action.busy}>Issue</button></div>
    </form>`}
  <//>`;
}
