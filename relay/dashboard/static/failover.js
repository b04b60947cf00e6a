// Following the active relay. Every relay process serves the dashboard; when this page's relay
// stops answering, answers 503, or says it is a standby, the dashboard asks the relays it knows
// (this origin first, then the members it last saw in `/api/cluster`): each one's `/readyz`
// (200: that one is active; a standby names the active) and then its `/api/cluster`. When the
// active is another origin, and does not say it is still starting, the page moves there.
// Without a load balancer this reads other origins: each relay's page may connect to the
// cluster's members (its CSP), and they let the members' origins read those two routes (CORS).
//
// The token lives in sessionStorage, which is per origin: the new origin would not have it.
// It is handed over in the URL fragment (`#relay-handover=…`), because a fragment never
// reaches a server (not in the request, not in a Referer, not in access logs), and the new
// page takes it out of the address bar and the history entry at once (history.replaceState)
// before anything else runs. Only a URL a relay of this cluster named as its active gets it.
import { session } from "./api.js";

const KNOWN = "relay.cluster.urls"; // relays seen in the last /api/cluster answer
const MOVED_FROM = "relay.movedFrom"; // set by a handover, read by the banner
const MOVED_AT = "relay.movedAt";
const HANDOVER = "relay-handover";
const MIN_MOVE_INTERVAL_MS = 10_000; // two relays naming each other must not bounce the page

// A handover taken out of the URL, not yet accepted: { token, from }.
let pending = null;

// At boot, before the app reads its token: take a handed-over token out of the URL. Anyone
// can write such a link, with a token of their own: it never signs the page in by itself.
// A tab already signed in keeps its own sign-in; otherwise the app asks, naming whose
// token it is (acceptHandover), before the page uses it.
export function takeHandover() {
  if (!location.hash.startsWith(`#${HANDOVER}=`)) return;
  const params = new URLSearchParams(location.hash.slice(1));
  const route = params.get("route") || "#/fleet";
  history.replaceState(null, "", `${location.pathname}${location.search}${route.startsWith("#") ? route : "#/fleet"}`);
  sessionStorage.setItem(MOVED_AT, String(Date.now()));
  const token = params.get(HANDOVER);
  if (token && !session.token()) pending = { token, from: params.get("from") };
}

// The handover waiting for the user's yes, or null.
export function handover() { return pending; }

export function acceptHandover() {
  if (pending === null) return;
  session.signIn(pending.token);
  if (pending.from) sessionStorage.setItem(MOVED_FROM, pending.from);
  pending = null;
}

export function declineHandover() { pending = null; }

// "relay moved here from <URL>" for the banner, or null.
export function movedFrom() { return sessionStorage.getItem(MOVED_FROM); }
export function dismissMoved() { sessionStorage.removeItem(MOVED_FROM); }

const origin = (url) => { try { return new URL(url).origin; } catch { return null; } };

function remember(cluster) {
  const urls = [cluster.active?.url, ...(cluster.standbys ?? []).map((s) => s.url), cluster.self?.url]
    .map(origin).filter((url) => url && /^https?:/.test(url));
  if (urls.length) sessionStorage.setItem(KNOWN, JSON.stringify([...new Set(urls)]));
}

function known() {
  let saved = [];
  try { saved = JSON.parse(sessionStorage.getItem(KNOWN) ?? "[]"); } catch { saved = []; }
  return [location.origin, ...saved.filter((url) => url !== location.origin)];
}

const ASK_TIMEOUT_MS = 3_000; // a relay that is gone may not even refuse the connection

async function readJson(url) {
  const response = await fetch(url, {
    cache: "no-store", credentials: "omit", signal: AbortSignal.timeout(ASK_TIMEOUT_MS),
  });
  let body = null;
  try { body = await response.json(); } catch { body = null; }
  return { status: response.status, body };
}

// The active's origin as the relay at `base` sees it, or null.
async function askRelay(base) {
  try {
    const { status, body } = await readJson(`${base}/readyz`);
    if (status === 200) return base; // it serves: it is the active
    if (body?.active && origin(body.active)) return origin(body.active);
  } catch { /* down, or an origin that does not let this page read it */ }
  try {
    const { status, body } = await readJson(`${base}/api/cluster`);
    if (status === 200 && body) {
      remember(body);
      return origin(body.active?.url ?? "");
    }
  } catch { /* likewise */ }
  return null;
}

// Whether `active` may be moved to: not when it answers that it is not serving yet (elected
// and still starting). One this page cannot read (another origin without CORS) gets the
// benefit of the doubt, as a redirect would.
async function serves(active) {
  try {
    const { status } = await readJson(`${active}/readyz`);
    return status === 200;
  } catch {
    return true;
  }
}

// The active relay's origin as the relays we know see it; null when none names one.
export async function findActive() {
  let here = false; // this page's relay answered /readyz
  try {
    const { status, body } = await readJson("/readyz");
    here = true;
    if (status === 200) return location.origin; // this relay serves: nothing to move
    if (body?.status === "standby" && body.active && origin(body.active)) {
      const active = origin(body.active);
      return (await serves(active)) ? active : null;
    }
  } catch { /* this origin does not answer: ask the others */ }
  for (const base of known()) {
    if (base === location.origin && !here) continue; // it just did not answer
    const active = await askRelay(base);
    // A relay that has not yet seen the lease of the one that died still names it: ask on.
    if (!active || (active === location.origin && !here)) continue;
    return active === location.origin || (await serves(active)) ? active : null;
  }
  return null;
}

// Learn the cluster while all is well, so a later failure knows where else to look.
export async function learnCluster() {
  try {
    const { status, body } = await readJson("/api/cluster");
    if (status === 200 && body) remember(body);
  } catch { /* a relay without /api/cluster, or down: nothing to learn */ }
}

// Move the page to `active` (an origin), keeping the route and the signed-in token.
export function moveTo(active) {
  const last = Number(sessionStorage.getItem(MOVED_AT) ?? 0);
  if (active === location.origin || Date.now() - last < MIN_MOVE_INTERVAL_MS) return false;
  const params = new URLSearchParams({
    [HANDOVER]: session.token() ?? "", from: location.origin, route: location.hash || "#/fleet",
  });
  location.assign(`${active}/#${params}`);
  return true;
}

// Called on any sign of trouble; one check at a time.
let checking = null;
export function checkRelay() {
  if (!checking) {
    checking = findActive()
      .then((active) => (active ? moveTo(active) : false))
      .finally(() => { checking = null; });
  }
  return checking;
}
