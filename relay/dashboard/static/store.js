// What the pages show, kept current by the event stream. Pages load their lists through the
// API, then events upsert/remove single items, and every change bumps a version that
// re-renders the subscribed views (coalesced to one render per animation frame).
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
  configVersion: 0,
  version: 0, // bumped on every change: the key for memoised views
  loaded: new Set(),
};

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
  changed();
}

const MAX_ACTIVITY = 500;

export function applyEvent(name, data) {
  switch (name) {
    case "agent":
      if (data.change === "deleted") store.agents.delete(data.agent.id);
      else store.agents.set(data.agent.id, data.agent);
      break;
    case "orchestrator":
      store.orchestrators.set(data.orchestrator.id, data.orchestrator);
      break;
    case "command":
      store.commands.set(data.command.id, data.command);
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
    case "config-changed":
      store.configVersion += 1;
      break;
    default:
      return;
  }
  changed();
}
