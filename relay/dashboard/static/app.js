// The dashboard shell: sign-in, navigation, the live stream and its "reconnecting…" banner.
import { ApiError, api, onTrouble, onUnauthorized, session, unauthorized } from "./api.js";
import {
  acceptHandover, checkRelay, declineHandover, dismissMoved, handover, learnCluster, movedFrom, takeHandover,
} from "./failover.js";
import { html, render, useEffect, useState } from "./html.js";
import { openLive } from "./live.js";
import { applyEvent } from "./store.js";
import { Toasts } from "./toast.js";
import { ErrorText } from "./ui.js";
import { Activity } from "./pages/activity.js";
import { AgentPage } from "./pages/agent.js";
import { Automations } from "./pages/automations.js";
import { Commands } from "./pages/commands.js";
import { Config } from "./pages/config.js";
import { Fleet } from "./pages/fleet.js";
import { Integrations } from "./pages/integrations.js";
import { Maintenance } from "./pages/maintenance.js";
import { Memory } from "./pages/memory.js";
import { Messages } from "./pages/messages.js";
import { Orchestrators } from "./pages/orchestrators.js";
import { Pairs } from "./pages/pairs.js";
import { TaskPage, Tasks } from "./pages/tasks.js";
import { Tokens } from "./pages/tokens.js";
import { Workspaces } from "./pages/workspaces.js";

const PAGES = [
  { path: "fleet", title: "Fleet", view: Fleet },
  { path: "orchestrators", title: "Orchestrators", view: Orchestrators },
  { path: "workspaces", title: "Workspaces", view: Workspaces },
  { path: "commands", title: "Commands", view: Commands },
  { path: "messages", title: "Messages", view: Messages },
  { path: "tasks", title: "Tasks", view: Tasks },
  { path: "pairs", title: "Pairs", view: Pairs },
  { path: "integrations", title: "Integrations", view: Integrations },
  { path: "automations", title: "Automations", view: Automations },
  { path: "memory", title: "Memory", view: Memory, needs: "memory:read" },
  { path: "activity", title: "Activity", view: Activity },
  { path: "config", title: "Config", view: Config },
  { path: "tokens", title: "Tokens", view: Tokens, needs: "token:admin" },
  { path: "maintenance", title: "Maintenance", view: Maintenance },
];

function currentPath() {
  return (location.hash.replace(/^#\/?/, "").split("?")[0]) || "fleet";
}

// An id from the hash as typed: a malformed %-escape (a mistyped or crafted link) is kept
// as it is, where decodeURIComponent's URIError would unmount the whole dashboard.
function decoded(part) {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

function useRoute() {
  const [path, setPath] = useState(currentPath());
  useEffect(() => {
    const update = () => setPath(currentPath());
    addEventListener("hashchange", update);
    return () => removeEventListener("hashchange", update);
  }, []);
  return path;
}

function SignIn({ onSignedIn, reason }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState(reason);
  const [busy, setBusy] = useState(false);
  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const me = await api("/api/me", { token: token.trim() });
      session.signIn(token.trim());
      onSignedIn(me);
    } catch (e) {
      setError(e instanceof ApiError && e.status === 401 ? "That token was not accepted." : e.message);
      setBusy(false);
    }
  }
  return html`<main class="signin">
    <form onSubmit=${submit} aria-labelledby="signin-title">
      <h1 id="signin-title">relay</h1>
      <p>Sign in with the root token or a dashboard token. It is kept for this browser session only.</p>
      <label for="token">Token</label>
      <input id="token" type="password" autocomplete="off" value=${token}
             onInput=${(e) => setToken(e.target.value)} autofocus required />
      <${ErrorText} error=${error} />
      <button class="primary" type="submit" disabled=${busy || !token.trim()}>Sign in</button>
    </form>
  </main>`;
}

// A sign-in handed over in the URL (failover.js): used only once the user says it is theirs.
function Handover({ pending, onDone }) {
  const [me, setMe] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    api("/api/me", { token: pending.token }).then(setMe)
      .catch((e) => setError(e instanceof ApiError && e.status === 401 ? "The handed-over token was not accepted." : e.message));
  }, []);
  const accept = () => { acceptHandover(); onDone(me); };
  const decline = () => { declineHandover(); onDone(null); };
  return html`<main class="signin">
    <section class="handover" aria-labelledby="handover-title">
      <h1 id="handover-title">relay</h1>
      <p>This page was opened with a sign-in handed over${pending.from ? html` from <code>${pending.from}</code>` : ""},
        as the dashboard does when the active relay moves. Continue only if it is yours.</p>
      ${me && html`<p>Signed in as <strong>${me.sub}</strong> (${me.role}).</p>`}
      <${ErrorText} error=${error} />
      <button class="primary" onClick=${accept} disabled=${!me}>Continue as ${me ? me.sub : "…"}</button>
      <button onClick=${decline}>Sign in with another token</button>
    </section>
  </main>`;
}

function Shell({ me, onSignOut }) {
  const path = useRoute();
  const [live, setLive] = useState("connecting");
  // The page menu: always shown on wide screens; a disclosure on a phone, closed on navigation.
  const [menuOpen, setMenuOpen] = useState(false);
  const [moved, setMoved] = useState(movedFrom());
  useEffect(() => {
    const stream = openLive({ onEvent: applyEvent, onState: setLive, onSignedOut: unauthorized });
    learnCluster();
    const stopWatching = onTrouble(() => { checkRelay(); });
    return () => { stream.close(); stopWatching(); };
  }, []);
  useEffect(() => setMenuOpen(false), [path]);
  const can = (scope) => me.root || me.scope.includes(scope);
  const pages = PAGES.filter((page) => !page.needs || can(page.needs));
  // #/agents/<id> is one agent's page, part of the Fleet section.
  const agentId = path.startsWith("agents/") ? decoded(path.slice("agents/".length)) : null;
  // #/tasks/<id> is one task's page, part of the Tasks section.
  const taskId = path.startsWith("tasks/") ? decoded(path.slice("tasks/".length)) : null;
  const page = agentId ? pages[0]
    : taskId ? pages.find((p) => p.path === "tasks")
    : pages.find((p) => p.path === path) ?? pages[0];
  const View = page.view;
  const closeOnEscape = (event) => {
    if (event.key === "Escape" && menuOpen) {
      setMenuOpen(false);
      event.currentTarget.querySelector(".menu-toggle")?.focus();
    }
  };
  // Tapping or tabbing anywhere outside the bar closes the phone menu.
  const closeOnLeave = (event) => {
    if (menuOpen && !event.currentTarget.contains(event.relatedTarget)) setMenuOpen(false);
  };
  return html`<div class="shell">
    <header class="top" onKeyDown=${closeOnEscape} onFocusOut=${closeOnLeave}>
      <a class="brand" href="#/fleet">relay</a>
      <span class=${`live live-${live}`} role="status">${live === "live" ? "live" : live === "connecting" ? "connecting…" : "reconnecting…"}</span>
      <button class="menu-toggle" aria-expanded=${menuOpen ? "true" : "false"} aria-controls="menu"
              onClick=${() => setMenuOpen(!menuOpen)}><span aria-hidden="true">☰</span> ${page.title}</button>
      <div id="menu" class=${`menu${menuOpen ? " open" : ""}`}>
        <nav aria-label="Pages">
          ${pages.map((p) => html`<a href=${`#/${p.path}`} aria-current=${p === page ? "page" : undefined}>${p.title}</a>`)}
        </nav>
        <span class="who" title=${me.role}>${me.sub}</span>
        <button class="signout" onClick=${onSignOut}>Sign out</button>
      </div>
    </header>
    ${live === "reconnecting" && html`<div class="banner" role="alert">Connection to the relay lost — reconnecting…</div>`}
    ${moved && live !== "reconnecting" && html`<div class="banner moved" role="status">
      relay moved to ${location.origin} (the relay at ${moved} is no longer the active one)
      <button class="dismiss" aria-label="Dismiss" onClick=${() => { dismissMoved(); setMoved(null); }}>×</button>
    </div>`}
    <main class="page" id="main" tabIndex="-1">${agentId
      ? html`<${AgentPage} key=${agentId} id=${agentId} can=${can} />`
      : taskId ? html`<h1 class="sr-only">Task</h1><${TaskPage} key=${taskId} id=${taskId} can=${can} />`
      : html`<h1 class="sr-only">${page.title}</h1><${View} me=${me} can=${can} />`}</main>
    <${Toasts} />
  </div>`;
}

function App() {
  const [pending, setPending] = useState(handover());
  const [me, setMe] = useState(null);
  const [checking, setChecking] = useState(Boolean(session.token()));
  const [reason, setReason] = useState(null);
  useEffect(() => {
    if (session.token()) {
      api("/api/me").then(setMe).catch((e) => { session.signOut(); setReason(e.message); })
        .finally(() => setChecking(false));
    }
    return onUnauthorized((message) => { session.signOut(); setMe(null); setReason(`Signed out: ${message}`); });
  }, []);
  if (pending) {
    return html`<${Handover} pending=${pending}
      onDone=${(accepted) => { setPending(null); if (accepted) setMe(accepted); }} />`;
  }
  if (checking) return html`<p class="boot">Loading relay…</p>`;
  if (!me) return html`<${SignIn} onSignedIn=${setMe} reason=${reason} />`;
  return html`<${Shell} me=${me} onSignOut=${() => { session.signOut(); setMe(null); setReason(null); }} />`;
}

takeHandover(); // before the app reads its token: see failover.js
const root = document.getElementById("app");
root.textContent = "";
render(html`<${App} />`, root);
