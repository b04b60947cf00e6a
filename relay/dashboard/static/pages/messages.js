// Messages (#/messages): one agent's conversations, a conversation's messages in seq order with
// each recipient's delivery state (dead letters can be resent as a new message), and the
// channels with their bindings and a "who would receive this" dry run. Message events carry no
// body, so a conversation that gains a message reads it (and its deliveries) from the API;
// delivery events move the states in place.
import { del, get, post } from "../api.js";
import { html, useEffect, useRef, useState } from "../html.js";
import { replaceAll, store, upsertAll, useStore } from "../store.js";
import { toast } from "../toast.js";
import { Confirm, Empty, ErrorText, Tabs, Time, useAction, useNow } from "../ui.js";

const enc = encodeURIComponent;
// The newest messages a conversation view reads (the API pages by seq).
const WINDOW = 100;

function hashQuery() {
  return new URLSearchParams(location.hash.split("?")[1] ?? "");
}

// Keep the page's choices in its address (#/messages?agent=…&tab=…) without a navigation.
function setHashQuery(changes) {
  const query = hashQuery();
  for (const [key, value] of Object.entries(changes)) {
    if (value) query.set(key, value);
    else query.delete(key);
  }
  const text = query.toString();
  history.replaceState(null, "", `#/messages${text ? `?${text}` : ""}`);
}

// Run `fn` at most once per `ms` after `key` changes: a burst of events costs one fetch.
function useThrottled(fn, key, ms = 300) {
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

export function stateText(state) {
  return state.replace("_", " ");
}

export function DeliveryState({ state }) {
  return html`<span class=${`badge status-${state}`}><span class="dot" aria-hidden="true"></span>${stateText(state)}</span>`;
}

export function Messages({ can }) {
  const [tab, setTab] = useState(hashQuery().get("tab") === "channels" ? "channels" : "conversations");
  function select(id) {
    setTab(id);
    setHashQuery({ tab: id === "channels" ? "channels" : null });
  }
  if (!can("message:read")) {
    return html`<${Empty}>Your token cannot read messages (needs message:read).<//>`;
  }
  return html`<section class="messages-page">
    <${Tabs} id="messages" label="Messages sections" selected=${tab} onSelect=${select}
      tabs=${[{ id: "conversations", title: "Conversations" }, { id: "channels", title: "Channels" }]}>
      ${tab === "channels" ? html`<${Channels} can=${can} />` : html`<${Conversations} can=${can} />`}
    <//>
  </section>`;
}

// -- conversations ----------------------------------------------------------------------------

function useAgents() {
  const s = useStore();
  const [error, setError] = useState(null);
  useEffect(() => {
    if (store.loaded.has("agents")) return;
    get("/api/agents").then((list) => { upsertAll(store.agents, list); store.loaded.add("agents"); })
      .catch((e) => setError(e.message));
  }, []);
  const agents = [...s.agents.values()].sort((a, b) => a.name.localeCompare(b.name));
  return { agents, error };
}

function conversationTitle(c) {
  if (c.kind === "channel") return `#${c.channelId}`;
  if (c.kind === "pair") return `pair ${c.pairId}`;
  return c.participants.join(" ↔ ") || c.id;
}

function Conversations({ can }) {
  const s = useStore();
  const now = useNow();
  const { agents, error: agentsError } = useAgents();
  const [agentId, setAgentId] = useState(hashQuery().get("agent") ?? "");
  const [list, setList] = useState(null);
  const [error, setError] = useState(null);
  const [openId, setOpenId] = useState(hashQuery().get("conversation") ?? null);
  function load() {
    if (!agentId) { setList(null); return; }
    get(`/api/conversations?agentId=${enc(agentId)}`)
      .then((found) => { setList(found); setError(null); })
      .catch((e) => setError(e.message));
  }
  useEffect(load, [agentId]);
  useThrottled(load, s.messagesVersion);
  function chooseAgent(event) {
    setAgentId(event.target.value);
    setOpenId(null);
    setHashQuery({ agent: event.target.value, conversation: null });
  }
  function open(id) {
    setOpenId(id);
    setHashQuery({ conversation: id });
  }
  const opened = list?.find((c) => c.id === openId) ?? null;
  return html`<div class="conversations">
    <div class="toolbar">
      <label for="messages-agent">Agent</label>
      <select id="messages-agent" value=${agentId} onChange=${chooseAgent}>
        <option value="">Choose an agent…</option>
        ${agentId && !agents.some((a) => a.id === agentId) && html`<option value=${agentId}>${agentId}</option>`}
        ${agents.map((a) => html`<option key=${a.id} value=${a.id}>${a.name}${a.name !== a.id ? ` (${a.id})` : ""}</option>`)}
      </select>
    </div>
    <${ErrorText} error=${agentsError || error} />
    ${!agentId && html`<p class="hint">Choose an agent to see the conversations it sent or received messages in.</p>`}
    ${agentId && list && list.length === 0 && html`<${Empty}>No conversations for ${agentId} yet.<//>`}
    ${list && list.length > 0 && html`<table class="grid as-cards conversation-table">
      <caption class="sr-only">Conversations of ${agentId}</caption>
      <thead><tr><th>Conversation</th><th>Kind</th><th>Messages</th><th>Last message</th><th><span class="sr-only">Actions</span></th></tr></thead>
      <tbody>${list.map((c) => html`<tr key=${c.id} data-conversation=${c.id} class=${c.id === openId ? "selected" : ""}>
        <td data-label="Conversation">${conversationTitle(c)}<div class="sub"><code>${c.id}</code></div></td>
        <td data-label="Kind">${c.kind}</td>
        <td data-label="Messages">${c.lastSeq}</td>
        <td data-label="Last message"><${Time} ms=${c.lastMessageAt} now=${now} /></td>
        <td data-label="Actions"><button aria-pressed=${c.id === openId ? "true" : "false"}
          aria-label=${`Open ${conversationTitle(c)}`} onClick=${() => open(c.id)}>Open</button></td>
      </tr>`)}</tbody>
    </table>`}
    ${openId && html`<${ConversationView} key=${openId} id=${openId} title=${opened ? conversationTitle(opened) : openId}
      can=${can} now=${now} />`}
  </div>`;
}

function ConversationView({ id, title, can, now }) {
  const s = useStore();
  // The messages read so far, ascending; the store's copy (newer, if any) is shown first.
  const [shown, setShown] = useState([]);
  const [error, setError] = useState(null);
  const lastSeq = useRef(0);
  const reading = useRef(false);
  const again = useRef(false);
  async function readDeliveries(messages) {
    const lists = await Promise.all(messages.map((m) => get(`/api/messages/${enc(m.id)}/deliveries`).catch(() => [])));
    upsertAll(store.deliveries, lists.flat());
  }
  // Reads the messages after the last one read (the newest WINDOW on first load). A call while
  // a read runs is not lost: the read goes round once more.
  async function readNew(first) {
    if (reading.current) { again.current = true; return; }
    reading.current = true;
    try {
      let after = lastSeq.current;
      if (first) {
        const head = await get(`/api/conversations/${enc(id)}/messages?afterSeq=0&limit=1`);
        after = Math.max(0, head.lastSeq - WINDOW);
      }
      const page = await get(`/api/conversations/${enc(id)}/messages?afterSeq=${after}&limit=${WINDOW}`);
      if (page.messages.length) {
        upsertAll(store.messages, page.messages);
        lastSeq.current = page.messages[page.messages.length - 1].seq;
        setShown((before) => [...before, ...page.messages]);
        await readDeliveries(page.messages);
      }
      setError(null);
    } catch (e) {
      // A channel's conversation exists from its first message on.
      setError(e.status === 404 && lastSeq.current === 0 ? null : e.message);
    } finally {
      reading.current = false;
      if (again.current) { again.current = false; readNew(false); }
    }
  }
  useEffect(() => { readNew(true); }, [id]);
  // A message event for this conversation past what was read: read it (with its body).
  const newest = [...s.messages.values()].reduce(
    (max, m) => (m.conversationId === id && m.seq > max ? m.seq : max), 0);
  useEffect(() => { if (newest > lastSeq.current) readNew(false); }, [newest]);
  const deliveries = new Map();
  for (const d of s.deliveries.values()) {
    if (d.conversationId !== id) continue;
    if (!deliveries.has(d.messageId)) deliveries.set(d.messageId, []);
    deliveries.get(d.messageId).push(d);
  }
  return html`<section class="conversation" aria-labelledby="conversation-title">
    <h2 id="conversation-title">${title}</h2>
    <${ErrorText} error=${error} />
    ${shown.length === 0 && !error && html`<p class="hint">No messages yet.</p>`}
    <ol class="message-list" aria-label=${`Messages in ${title}`}>
      ${shown.map((read) => {
        const message = s.messages.get(read.id) ?? read;
        return html`<${MessageItem} key=${read.id} message=${message} now=${now} can=${can}
          deliveries=${(deliveries.get(read.id) ?? []).sort((a, b) => a.agentId.localeCompare(b.agentId))} />`;
      })}
    </ol>
  </section>`;
}

function MessageItem({ message, deliveries, now, can }) {
  const dead = deliveries.filter((d) => d.state === "dead_lettered").length;
  return html`<li class=${`message${dead ? " has-dead" : ""}`} data-message=${message.id} data-seq=${message.seq}>
    <div class="message-head">
      <strong>#${message.seq}</strong>
      <span>${message.from} → ${message.channelId ? `#${message.channelId}` : message.to ?? "—"}</span>
      ${message.importance !== "normal" && html`<span class=${`badge importance-${message.importance}`}>${message.importance}</span>`}
      ${message.ackRequired && html`<span class="badge">ack required</span>`}
      <${Time} ms=${message.createdAt} now=${now} />
    </div>
    <div class="message-body">${message.body ?? html`<span class="hint">…</span>`}</div>
    <ul class="deliveries" aria-label=${`Deliveries of message ${message.seq}`}>
      ${deliveries.length === 0 && html`<li class="hint">No deliveries visible.</li>`}
      ${deliveries.map((d) => html`<li key=${d.id} data-delivery=${d.id} data-agent=${d.agentId}>
        <span class="recipient">${d.agentId}</span> <${DeliveryState} state=${d.state} />
        <span class="sub">attempt ${d.attempt}/${d.maxAttempts}</span>
        ${d.state === "dead_lettered" && html`<${Resend} message=${message} delivery=${d} can=${can} />`}
      </li>`)}
    </ul>
  </li>`;
}

// A dead letter is final: sending it again is a new message with the same body to the
// recipient that never acked it (from the same agent when the sender was one).
function Resend({ message, delivery, can }) {
  const action = useAction();
  async function resend() {
    const full = message.body === undefined ? await get(`/api/messages/${enc(message.id)}`) : message;
    const body = {
      to: delivery.agentId, body: full.body, importance: full.importance, ackRequired: full.ackRequired,
    };
    // The same artifacts (a secret one is readable by its recipients only through them).
    if (full.attachments?.length) body.attachments = full.attachments.map((a) => ({ artifactId: a.artifactId }));
    if (store.agents.has(full.from)) body.from = full.from;
    const sent = await post("/api/messages", body);
    toast({ kind: "ok", text: `Resent to ${delivery.agentId} as a new message (#${sent.message.seq}).` });
  }
  return html`<button class="small" disabled=${!can("message:write") || action.busy}
    aria-label=${`Resend message ${message.seq} to ${delivery.agentId}`}
    onClick=${() => action.run(resend)}>Resend</button><${ErrorText} error=${action.error} />`;
}

// -- channels ---------------------------------------------------------------------------------

function Channels({ can }) {
  const s = useStore();
  const now = useNow();
  const [error, setError] = useState(null);
  const [openId, setOpenId] = useState(hashQuery().get("channel") ?? null);
  const [deleting, setDeleting] = useState(null);
  function load() {
    get("/api/channels").then((list) => { replaceAll(store.channels, list); store.loaded.add("channels"); setError(null); })
      .catch((e) => setError(e.message));
  }
  useEffect(load, []);
  useThrottled(load, s.channelsVersion);
  const writable = can("config:write");
  const list = [...s.channels.values()].sort((a, b) => a.id.localeCompare(b.id));
  function open(id) {
    setOpenId(id);
    setHashQuery({ channel: id });
  }
  return html`<div class="channels">
    ${writable ? html`<${CreateChannel} onCreated=${open} />`
      : html`<p class="hint">Your token cannot change channels (needs config:write).</p>`}
    <${ErrorText} error=${error} />
    ${s.loaded.has("channels") && list.length === 0 && html`<${Empty}>No channels yet.<//>`}
    ${list.length > 0 && html`<table class="grid as-cards channel-table">
      <caption class="sr-only">Channels</caption>
      <thead><tr><th>Channel</th><th>Description</th><th>Bindings</th><th>Last message</th><th><span class="sr-only">Actions</span></th></tr></thead>
      <tbody>${list.map((c) => html`<tr key=${c.id} data-channel=${c.id} class=${c.id === openId ? "selected" : ""}>
        <td data-label="Channel"><code>${c.id}</code></td>
        <td data-label="Description">${c.description ?? "—"}</td>
        <td data-label="Bindings">${c.bindings ?? "—"}</td>
        <td data-label="Last message"><${Time} ms=${c.lastMessageAt} now=${now} /></td>
        <td data-label="Actions"><span class="row-actions">
          <button aria-pressed=${c.id === openId ? "true" : "false"} aria-label=${`Open channel ${c.id}`}
            onClick=${() => open(c.id)}>Open</button>
          ${writable && html`<button class="danger" aria-label=${`Delete channel ${c.id}`}
            onClick=${() => setDeleting(c.id)}>Delete…</button>`}
        </span></td>
      </tr>`)}</tbody>
    </table>`}
    ${openId && html`<${ChannelDetail} key=${openId} id=${openId} can=${can} onGone=${() => open(null)} />`}
    ${deleting && html`<${Confirm} title=${`Delete channel ${deleting}?`} danger confirmLabel="Delete"
      message="Its bindings are deleted with it; its messages stay."
      onClose=${() => setDeleting(null)}
      onConfirm=${async () => {
        await del(`/api/channels/${enc(deleting)}`);
        store.channels.delete(deleting);
        if (openId === deleting) open(null);
        load();
      }} />`}
  </div>`;
}

function CreateChannel({ onCreated }) {
  const [id, setId] = useState("");
  const [description, setDescription] = useState("");
  const action = useAction();
  async function submit(event) {
    event.preventDefault();
    const body = { id: id.trim() };
    if (description.trim()) body.description = description.trim();
    const created = await action.run(() => post("/api/channels", body));
    if (created) {
      upsertAll(store.channels, [{ bindings: 0, lastMessageAt: null, ...created }]);
      setId("");
      setDescription("");
      onCreated(created.id);
    }
  }
  return html`<form class="inline create-channel" onSubmit=${submit} aria-label="New channel">
    <label for="channel-id">Channel id</label>
    <input id="channel-id" value=${id} onInput=${(e) => setId(e.target.value)} required
           maxlength="64" placeholder="e.g. reviews" />
    <label for="channel-description">Description</label>
    <input id="channel-description" value=${description} maxlength="500" onInput=${(e) => setDescription(e.target.value)} />
    <button class="primary" type="submit" disabled=${action.busy || !id.trim()}>Create channel</button>
    <${ErrorText} error=${action.error} />
  </form>`;
}

function ChannelDetail({ id, can, onGone }) {
  const s = useStore();
  const now = useNow();
  const [channel, setChannel] = useState(null);
  const [error, setError] = useState(null);
  const remove = useAction();
  function load() {
    get(`/api/channels/${enc(id)}`).then((found) => { setChannel(found); setError(null); })
      .catch((e) => { if (e.status === 404) onGone(); else setError(e.message); });
  }
  useEffect(load, [id]);
  useThrottled(load, s.channelsVersion);
  const writable = can("config:write");
  if (!channel) return html`<section class="channel-detail"><${ErrorText} error=${error} /></section>`;
  return html`<section class="channel-detail" aria-labelledby="channel-title">
    <h2 id="channel-title">Channel ${id}</h2>
    ${channel.description && html`<p>${channel.description}</p>`}
    <${ErrorText} error=${error || remove.error} />
    <h3>Bindings</h3>
    ${channel.bindings.length === 0 ? html`<p class="hint">No bindings: nobody receives this channel's messages.</p>`
      : html`<table class="grid as-cards binding-table">
      <caption class="sr-only">Bindings of ${id}</caption>
      <thead><tr><th>Mode</th><th>Target</th><th>Direction</th><th><span class="sr-only">Actions</span></th></tr></thead>
      <tbody>${channel.bindings.map((b) => html`<tr key=${b.id} data-binding=${b.id}>
        <td data-label="Mode">${b.mode}</td>
        <td data-label="Target">${b.targetType} <code>${b.target}</code></td>
        <td data-label="Direction">${b.direction}</td>
        <td data-label="Actions">${writable && html`<button disabled=${remove.busy}
          aria-label=${`Remove binding ${b.targetType} ${b.target}`}
          onClick=${() => remove.run(async () => {
            await del(`/api/channels/${enc(id)}/bindings/${enc(b.id)}`);
            load();
          })}>Remove</button>`}</td>
      </tr>`)}</tbody>
    </table>`}
    ${writable && html`<${AddBinding} channelId=${id} onAdded=${load} />`}
    <${DryRun} channelId=${id} />
    <${ConversationView} key=${channel.conversationId} id=${channel.conversationId} title=${`Messages in #${id}`}
      can=${can} now=${now} />
  </section>`;
}

function AddBinding({ channelId, onAdded }) {
  const [form, setForm] = useState({ mode: "broadcast", targetType: "agent", target: "", direction: "both" });
  const action = useAction();
  const set = (field) => (event) => setForm({ ...form, [field]: event.target.value });
  async function submit(event) {
    event.preventDefault();
    const added = await action.run(() => post(`/api/channels/${enc(channelId)}/bindings`, { ...form, target: form.target.trim() }));
    if (added) {
      setForm({ ...form, target: "" });
      onAdded();
    }
  }
  return html`<form class="form binding-form" onSubmit=${submit} aria-labelledby="add-binding-title">
    <h3 id="add-binding-title">Add a binding</h3>
    <div class="fields">
      <label>Mode <select value=${form.mode} onChange=${set("mode")}>
        <option value="broadcast">broadcast</option><option value="exclusive">exclusive</option></select></label>
      <label>Target type <select value=${form.targetType} onChange=${set("targetType")}>
        <option value="agent">agent</option><option value="label">label</option>
        <option value="tag">tag</option><option value="capability">capability</option></select></label>
      <label>Target <input value=${form.target} onInput=${set("target")} required maxlength="200" /></label>
      <label>Direction <select value=${form.direction} onChange=${set("direction")}>
        <option value="both">both</option><option value="inbound">inbound</option><option value="outbound">outbound</option></select></label>
    </div>
    <${ErrorText} error=${action.error} />
    <div class="actions"><button class="primary" type="submit" disabled=${action.busy || !form.target.trim()}>Add binding</button></div>
  </form>`;
}

function DryRun({ channelId }) {
  const { agents } = useAgents();
  const [from, setFrom] = useState("");
  const [result, setResult] = useState(null);
  const action = useAction();
  async function submit(event) {
    event.preventDefault();
    const query = from ? `?from=${enc(from)}` : "";
    const reply = await action.run(() => get(`/api/channels/${enc(channelId)}/route${query}`));
    if (reply) setResult(reply);
  }
  return html`<form class="form dry-run" onSubmit=${submit} aria-labelledby="dry-run-title">
    <h3 id="dry-run-title">Who would receive this?</h3>
    <p class="hint">A dry run of the routing: nothing is sent.</p>
    <label>Sender <select value=${from} onChange=${(e) => { setFrom(e.target.value); setResult(null); }}>
      <option value="">not an agent (you)</option>
      ${agents.map((a) => html`<option key=${a.id} value=${a.id}>${a.name}${a.name !== a.id ? ` (${a.id})` : ""}</option>`)}
    </select></label>
    <div class="actions"><button type="submit" disabled=${action.busy}>Dry run</button></div>
    <${ErrorText} error=${action.error} />
    <div role="status" class="route-result">${result && (result.targets.length === 0
      ? html`<p>No agent would receive it.</p>`
      : html`<ul aria-label="Would receive">
        ${result.targets.map((t) => html`<li key=${t.agentId} data-agent=${t.agentId}><strong>${t.agentId}</strong>
          <span class="sub">${t.mode}, matched by ${t.matchedBy.targetType} ${t.matchedBy.target}</span></li>`)}
      </ul>`)}</div>
  </form>`;
}
