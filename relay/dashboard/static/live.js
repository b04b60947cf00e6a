// The live event stream. EventSource cannot send headers, so each connection first asks for a
// short-lived single-use ticket with the token; after a drop it reconnects with the last event
// id it saw, so the relay replays exactly what was missed. `presence` frames carry no id (they
// are never replayed); `signed-out` ends the stream for good: the token was revoked or expired.
// A drop also reports trouble, so the dashboard can follow the active relay (failover.js).
import { post, trouble } from "./api.js";

export const EVENT_NAMES = [
  "activity", "agent", "orchestrator", "command", "workspace", "lease", "config-changed", "presence",
  "message", "delivery", "channel", "pair", "integration", "task", "automation", "memory",
];

export function openLive({ onEvent, onState, onSignedOut }) {
  let source = null;
  let lastId = null;
  let closed = false;
  let delay = 500;
  let timer = null;

  async function connect() {
    if (closed) return;
    let ticket;
    try {
      ticket = (await post("/api/events/ticket")).ticket;
    } catch {
      retry();
      return;
    }
    const params = new URLSearchParams({ ticket });
    if (lastId) params.set("lastEventId", lastId);
    source = new EventSource(`/api/events?${params}`);
    source.onopen = () => { delay = 500; onState("live"); };
    for (const name of EVENT_NAMES) {
      source.addEventListener(name, (message) => {
        if (message.lastEventId) lastId = message.lastEventId;
        let data;
        try { data = JSON.parse(message.data); } catch { return; }
        onEvent(name, data);
      });
    }
    source.addEventListener("signed-out", (message) => {
      let reason = "signed out by the relay";
      try { reason = JSON.parse(message.data).reason || reason; } catch { /* keep the default */ }
      closed = true;
      source.close();
      onSignedOut(reason);
    });
    source.onerror = () => {
      source.close();
      retry();
    };
  }

  function retry() {
    if (closed) return;
    onState("reconnecting");
    trouble(); // perhaps this relay is gone or a standby now: failover.js looks for the active
    clearTimeout(timer);
    timer = setTimeout(connect, delay);
    delay = Math.min(delay * 2, 8000);
  }

  connect();
  return {
    close() { closed = true; clearTimeout(timer); if (source) source.close(); },
  };
}
