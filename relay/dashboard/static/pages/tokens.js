// Tokens (admins only): the records, issuing a token (shown once), revoking one.
import { del, get, post } from "../api.js";
import { html, useEffect, useState } from "../html.js";
import { Confirm, Dialog, Empty, ErrorText, Time, useAction, useNow } from "../ui.js";

const SCOPES = ["agent:read", "agent:write", "command:read", "command:write", "config:read",
  "config:write", "activity:read", "activity:write", "token:admin"];
const PROFILES = ["dashboard", "orchestrator", "provider-agent", "integration"];

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
    <table class="grid">
      <thead><tr><th>Subject</th><th>Role / profile</th><th>Scopes</th><th>Constraints</th><th>Created</th><th>Expires</th><th></th></tr></thead>
      <tbody>${(records ?? []).map((r) => html`<tr key=${r.jti} class=${r.revokedAt ? "muted" : ""}>
        <td>${r.sub}<div class="sub">${r.jti}</div></td>
        <td>${r.role}${r.profileId && html`<div class="sub">${r.profileId}</div>`}</td>
        <td>${r.scope.map((scope) => html`<span class="tag" key=${scope}>${scope}</span>`)}</td>
        <td><code>${Object.keys(r.constraints ?? {}).length ? JSON.stringify(r.constraints) : "—"}</code></td>
        <td><${Time} ms=${r.createdAt} now=${now} /></td>
        <td>${r.revokedAt ? "revoked" : html`<${Time} ms=${r.expiresAt} now=${now} />`}</td>
        <td>${!r.revokedAt && html`<button class="danger" onClick=${() => setRevoking(r)}>Revoke</button>`}</td>
      </tr>`)}</tbody>
    </table>
    ${issuing && html`<${IssueForm} onClose=${() => { setIssuing(false); load(); }} />`}
    ${revoking && html`<${Confirm} danger title=${`Revoke the token of ${revoking.sub}?`}
      message="It stops working on its very next request." confirmLabel="Revoke"
      onClose=${() => { setRevoking(null); load(); }} onConfirm=${() => del(`/api/tokens/${revoking.jti}`)} />`}
  </section>`;
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
