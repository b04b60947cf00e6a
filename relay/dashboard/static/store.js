// What the pages show, kept current by the event stream. Pages load their lists through the
// API, then events upsert/remove single items, and every change bumps a version that
// re-renders the subscribed views (coalesced to one render per animation frame, so a burst
// of a thousand events costs one render). Views memoise their derived lists on the narrower
// versions below instead of recomputing them per event.
import { useEffect, useState } from "./html.js";

const subscribers = new Set();
let scheduled = false;

export const store = {
  agents: new Map(),
  orchestrators: new Map(),
  commands: new Map(),
  workspaces: new Map(),
  leases: new Map(),
  activity: [],
  // Messaging: message events carry no body, so a message here may lack one until a page
  // reads it from its conversation; deliveries are keyed by id, channels by their id.
  messages: new Map(),
  deliveries: new Map(),
  channels: new Map(),
  messagesVersion: 0, // a message or a delivery changed
  channelsVersion: 0, // a channel or one of its bindings changed
  // Tasks, pairs, automations, integrations (tasks.md). A task's history is what this browser
  // saw of it: each status, assignee or version change a `task` event brought.
  tasks: new Map(),
  taskHistory: new Map(), // task id → [{at, status, assignee, version, statusMessage}]
  pairs: new Map(),
  dispatches: new Map(), // automation dispatch results by id
  integrationEvents: [], // newest first, without payloads (as the stream sends them)
  tasksVersion: 0,
  pairsVersion: 0,
  automationsVersion: 0,
  integrationsVersion: 0,
  configVersion: 0,
  memoryVersion: 0, // a memory was created, updated or deleted (events carry no body)
  version: 0, // bumped on every change: the key for memoised views
  // Bumped when an agent is added, removed or changes other than its presence: filters and
  // sorts that do not read lastSeenAt key on this one, so heartbeats do not re-sort.
  agentsVersion: 0,
  presenceVersion: 0,
  loaded: new Set(),
};

// Called with every command as its event arrives (the outcome toasts follow them).
export const commandWatchers = new Set();

export function changed() {
  store.version += 1;
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    subscribers.forEach((fn) => fn());
  });
}

export function useStore() {
  const [, setTick] = useState(0);
  useEffect(() => {
    const fn = () => setTick((n) => n + 1);
    subscribers.add(fn);
    return () => subscribers.delete(fn);
  }, []);
  return store;
}

export function replaceAll(map, items, key = (item) => item.id) {
  map.clear();
  for (const item of items) map.set(key(item), item);
  if (map === store.agents) store.agentsVersion += 1;
  changed();
}

// Add or refresh some items without dropping the others (a page that loads a slice).
export function upsertAll(map, items, key = (item) => item.id) {
  for (const item of items) map.set(key(item), item);
  if (map === store.agents) store.agentsVersion += 1;
  changed();
}

const MAX_ACTIVITY = 500;
// Messages and deliveries seen on the stream, oldest dropped first: pages re-read what they show.
const MAX_MESSAGING = 5000;

function trim(map) {
  for (const key of map.keys()) {
    if (map.size <= MAX_MESSAGING) break;
    map.delete(key);
  }
}

const MAX_HISTORY = 100;

// A history step when what the board shows of the task moved; the same version twice (a
// replayed event, or the page's own read after the event) adds nothing.
export function recordTask(task) {
  const steps = store.taskHistory.get(task.id) ?? [];
  const last = steps[steps.length - 1];
  if (!last || task.version > last.version) {
    steps.push({
      at: task.updatedAt, status: task.status, assignee: task.assignee ?? null,
      version: task.version, statusMessage: task.statusMessage ?? null,
    });
    if (steps.length > MAX_HISTORY) steps.shift();
    store.taskHistory.set(task.id, steps);
    trim(store.taskHistory);
  }
}

// A read (the board's list, a task page) never replaces a newer copy an event brought.
export function upsertTasks(tasks) {
  for (const task of tasks) {
    const known = store.tasks.get(task.id);
    if (!known || task.version >= known.version) store.tasks.set(task.id, task);
  }
  trim(store.tasks);
  store.tasksVersion += 1;
  changed();
}

function applyPresence(data) {
  let moved = false;
  for (const [id, ms] of Object.entries(data.agents ?? {})) {
    const agent = store.agents.get(id);
    if (agent && typeof ms === "number" && ms > (agent.lastSeenAt ?? 0)) {
      // A new object: the row components re-render on identity.
      store.agents.set(id, { ...agent, lastSeenAt: ms });
      moved = true;
    }
  }
  for (const [id, ms] of Object.entries(data.orchestrators ?? {})) {
    const orch = store.orchestrators.get(id);
    if (orch && typeof ms === "number" && ms > (orch.lastHeartbeatAt ?? 0)) {
      store.orchestrators.set(id, { ...orch, lastHeartbeatAt: ms });
      moved = true;
    }
  }
  if (moved) store.presenceVersion += 1;
  return moved;
}

export function applyEvent(name, data) {
  switch (name) {
    case "agent":
      if (data.change === "deleted") store.agents.delete(data.agent.id);
      else store.agents.set(data.agent.id, data.agent);
      store.agentsVersion += 1;
      break;
    case "presence":
      if (!applyPresence(data)) return;
      break;
    case "orchestrator":
      store.orchestrators.set(data.orchestrator.id, data.orchestrator);
      store.agentsVersion += 1; // host names label the agents
      break;
    case "command":
      store.commands.set(data.command.id, data.command);
      commandWatchers.forEach((fn) => fn(data.command));
      break;
    case "workspace":
      if (data.change === "deleted") store.workspaces.delete(data.workspace.id);
      else store.workspaces.set(data.workspace.id, data.workspace);
      break;
    case "lease":
      if (data.change === "released") store.leases.delete(data.lease.repoRoot);
      else store.leases.set(data.lease.repoRoot, data.lease);
      break;
    case "activity":
      if (!store.activity.some((event) => event.id === data.id)) {
        store.activity.unshift(data);
        store.activity.length = Math.min(store.activity.length, MAX_ACTIVITY);
      }
      break;
    case "message": {
      const known = store.messages.get(data.message.id);
      // Keep a body read earlier: the event never has one.
      store.messages.set(data.message.id, known ? { ...known, ...data.message } : data.message);
      trim(store.messages);
      store.messagesVersion += 1;
      break;
    }
    case "delivery":
      store.deliveries.set(data.delivery.id, data.delivery);
      trim(store.deliveries);
      store.messagesVersion += 1;
      break;
    case "channel":
      if (data.change === "deleted") store.channels.delete(data.channel.id);
      else store.channels.set(data.channel.id, { ...store.channels.get(data.channel.id), ...data.channel });
      store.channelsVersion += 1;
      break;
    case "task":
      recordTask(data.task);
      if ((store.tasks.get(data.task.id)?.version ?? 0) <= data.task.version) {
        store.tasks.set(data.task.id, data.task);
      }
      trim(store.tasks);
      store.tasksVersion += 1;
      break;
    case "pair":
      store.pairs.set(data.pair.id, data.pair);
      trim(store.pairs);
      store.pairsVersion += 1;
      break;
    case "automation":
      if (data.dispatch) store.dispatches.set(data.dispatch.id, data.dispatch);
      trim(store.dispatches);
      store.automationsVersion += 1;
      break;
    case "integration":
      if (data.event && !store.integrationEvents.some((e) => e.id === data.event.id)) {
        store.integrationEvents.unshift(data.event);
        store.integrationEvents.length = Math.min(store.integrationEvents.length, MAX_ACTIVITY);
      }
      store.integrationsVersion += 1;
      break;
    case "config-changed":
      store.configVersion += 1;
      break;
    case "memory":
      store.memoryVersion += 1;
      break;
    default:
      return;
  }
  changed();
}
