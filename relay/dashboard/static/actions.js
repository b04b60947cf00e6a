// Agent actions and their outcomes. An action's POST only queues a command; what the operator
// needs is what became of it, so every command an action created is followed by id through the
// `command` events and shown as one toast (keyed by the command id) that moves from "queued" to
// its final result or error, wherever the user is by then.
import { onUnauthorized, post } from "./api.js";
import { changed, commandWatchers, store } from "./store.js";
import { toast } from "./toast.js";

export const ACTION_LABELS = {
  restart: "Restart", shutdown: "Shut down", reconnect: "Reconnect",
  compact: "Compact", clearContext: "Clear context", resume: "Resume",
};
// One of these at a time per agent (the server refuses a second with 409).
export const LIFECYCLE = new Set(["restart", "shutdown", "resume"]);
export const SETTLED = new Set(["succeeded", "failed", "cancelled", "expired"]);

const followed = new Map(); // command id → {label, agentName}

function actionOf(command) {
  const action = command.params?.action;
  if (action && ACTION_LABELS[action]) return action;
  return command.type?.startsWith("agent.") ? command.type.slice("agent.".length) : null;
}

export function commandLabel(command) {
  return ACTION_LABELS[actionOf(command)] ?? command.type;
}

export function commandAgentId(command) {
  return command.params?.agentId ?? (command.targetKind === "agent" ? command.target : null);
}

// The sentence for a command's current state: the same words in the toast and the agent page.
export function outcomeText(command) {
  switch (command.status) {
    case "queued": return "queued";
    case "delivered": return "delivered, waiting for the result";
    case "running": return "running";
    case "succeeded": return "succeeded";
    case "failed": return `failed: ${command.error || "no error text was reported"}`;
    case "cancelled": return "cancelled";
    case "expired":
      return `expired: the ${command.targetKind === "agent" ? "agent" : "orchestrator"} never acknowledged it`;
    default: return command.status;
  }
}

const KIND = { succeeded: "ok", failed: "error", expired: "error", cancelled: "info" };

function show(command) {
  const about = followed.get(command.id);
  if (!about) return;
  const settled = SETTLED.has(command.status);
  toast({
    key: command.id,
    kind: KIND[command.status] ?? "info",
    text: `${about.label} ${about.agentName}: ${outcomeText(command)}`,
    sticky: !settled,
  });
  if (settled) followed.delete(command.id);
}

commandWatchers.add(show);

// Every step of a command (created, delivered, running, settled) is a `command` event, and a
// stream that reconnects replays what it missed: following the events is enough, no polling.

// Signed out: nothing to follow any more (and no 401s to repeat the sign-out).
onUnauthorized(() => followed.clear());

function follow(command, about) {
  followed.set(command.id, about);
}

// Lifecycle commands this page sent, by agent id: they count as in flight from the 202 on,
// before the agent's own event brings meta.lifecycleCommandId.
const sentLifecycle = new Map();

function open(id) {
  const command = store.commands.get(id);
  return !command || !SETTLED.has(command.status);
}

// Whether a lifecycle action is in flight for `agent`: the server keeps the command id on the
// card until the command settles (or expires); a settled command seen first wins the race.
export function lifecycleInFlight(agent) {
  if (!agent) return false;
  const id = agent.meta?.lifecycleCommandId;
  if (id && open(id)) return true;
  // Only while its command is known and open: the card is the authority once it caught up.
  const sent = sentLifecycle.get(agent.id);
  if (sent && store.commands.has(sent) && open(sent) && !id) return true;
  sentLifecycle.delete(agent.id);
  return false;
}

// POST the action; follow its command. Throws the server's error (shown verbatim by callers).
export async function requestAction(agent, action, { quiet = false } = {}) {
  const reply = await post(`/api/agents/${encodeURIComponent(agent.id)}/actions`, { action });
  const command = reply.command;
  // The command's own events may have overtaken this reply: keep the newer one.
  const known = store.commands.get(command.id);
  const current = known && (known.updatedAt ?? 0) >= (command.updatedAt ?? 0) ? known : command;
  store.commands.set(command.id, current);
  if (LIFECYCLE.has(action)) sentLifecycle.set(agent.id, command.id);
  changed();
  if (!quiet) {
    follow(command, { label: ACTION_LABELS[action] ?? action, agentName: agent.name });
    show(current);
  }
  return current;
}
