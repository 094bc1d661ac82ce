// The app's one shared state: who is signed in, and what the live feed
// last said (the overview: city, sub-centers, room tiles, active incidents,
// probes, sparklines). Pages read it and subscribe to its topics:
//   'overview'  the structure changed (a hello): redraw
//   'tick'      figures changed (every second)
//   'incidents' the active incidents changed
//   'room'      a room's full views arrived ({room, views})
//   'conn'      the feed's connection or staleness changed
//   'user'      who is signed in changed

/** Seconds of sparkline kept per room. */
export const SPARK_SECONDS = 120;

export const state = {
  user: null,
  city: { id: '', name: '' },
  subCenters: [], // [{id, name, kind, rooms: [room id…]}]
  tiles: new Map(), // room id → tile
  incidents: [], // active incident briefs, nearest deadline first
  probes: [],
  sparks: new Map(), // room id → {t: [], rtt: [], freeze: [], dropouts: []}
  source: { ok: true },
  loaded: false, // a hello (or the overview) has arrived
  conn: 'idle', // idle, connecting, open, closed
  lastDataAt: 0, // client ms of the last hello or tick
  dataTime: 0, // the server's Unix seconds of that data
  offset: 0, // server clock − client clock, ms
  startedAt: Date.now(),
  openedAt: 0, // client ms the feed last opened
  failures: 0, // connection attempts failed or dropped since the last good one
};

const subs = new Map();

/** Calls fn(payload) on every emit of topic; returns the unsubscribe function. */
export function on(topic, fn) {
  if (!subs.has(topic)) subs.set(topic, new Set());
  subs.get(topic).add(fn);
  return () => subs.get(topic).delete(fn);
}

export function emit(topic, payload) {
  const set = subs.get(topic);
  if (!set) return;
  for (const fn of [...set]) {
    try { fn(payload); } catch (e) { console.error(topic, e); }
  }
}

/** Now on the server's clock, in ms. */
export function serverNow() { return Date.now() + state.offset; }

export function setUser(user) {
  state.user = user;
  emit('user', user);
}

const ROLE_RANK = { viewer: 1, operator: 2, supervisor: 3, admin: 4 };

/** Whether the signed-in user has at least role. */
export function can(role) {
  return Boolean(state.user) && (ROLE_RANK[state.user.role] || 0) >= (ROLE_RANK[role] || 99);
}

/** Sets the city's name (from /api/me or the login answer, before the feed's hello). */
export function setCity(c) {
  const v = cityOf(c);
  if (v.name && !state.city.name) {
    state.city = v;
    emit('user', state.user);
  }
}

function cityOf(c) {
  if (!c) return { id: '', name: '' };
  return { id: c.id ?? c.ID ?? '', name: c.name ?? c.Name ?? '' };
}

function unix(v) {
  if (typeof v === 'number') return v;
  const d = Date.parse(v);
  return isNaN(d) ? 0 : d / 1000;
}

function byDeadline(a, b) {
  const da = Date.parse(a.deadline) || 0;
  const db = Date.parse(b.deadline) || 0;
  return da - db || String(a.id).localeCompare(String(b.id));
}

const ACTIVE = new Set(['open', 'acknowledged', 'mitigated']);

/** Whether an incident state is still being worked on. */
export function isActive(s) { return ACTIVE.has(s); }

function markData(t) {
  state.lastDataAt = Date.now();
  if (t) {
    state.dataTime = t;
    state.offset = t * 1000 - Date.now();
  }
}

/** Replaces the state with an overview (a hello, or GET /api/overview). */
export function applyOverview(o) {
  state.city = cityOf(o.city);
  state.subCenters = [];
  state.tiles = new Map();
  for (const sc of o.sub_centers || []) {
    const ids = [];
    for (const tile of sc.rooms || []) {
      state.tiles.set(tile.id, tile);
      ids.push(tile.id);
    }
    state.subCenters.push({ id: sc.id, name: sc.name, kind: sc.kind, rooms: ids });
  }
  state.incidents = (o.incidents || []).slice().sort(byDeadline);
  state.probes = o.probes || [];
  state.source = o.source || { ok: true };
  state.sparks = new Map();
  for (const [id, sp] of Object.entries(o.sparks || {})) {
    state.sparks.set(id, {
      t: (sp.t || []).slice(),
      rtt: (sp.rtt || []).slice(),
      freeze: (sp.freeze || []).slice(),
      dropouts: (sp.dropouts || []).slice(),
    });
  }
  state.loaded = true;
  markData(o.now ? unix(o.now) : 0);
  emit('overview');
  emit('incidents');
  emit('conn');
}

function pushSpark(id, t, tile) {
  let sp = state.sparks.get(id);
  if (!sp) {
    sp = { t: [], rtt: [], freeze: [], dropouts: [] };
    state.sparks.set(id, sp);
  }
  const fresh = tile.n > 0 || (tile.state !== 'idle' && tile.state !== 'unknown' && tile.n === undefined);
  const rtt = fresh ? tile.rtt_ms ?? null : null;
  const freeze = fresh ? tile.freeze_ms ?? null : null;
  const drop = fresh ? tile.dropouts ?? null : null;
  const last = sp.t.length - 1;
  if (last >= 0 && sp.t[last] >= t) {
    if (sp.t[last] === t) {
      sp.rtt[last] = rtt; sp.freeze[last] = freeze; sp.dropouts[last] = drop;
    }
  } else {
    sp.t.push(t); sp.rtt.push(rtt); sp.freeze.push(freeze); sp.dropouts.push(drop);
  }
  let cut = 0;
  while (cut < sp.t.length && sp.t[cut] <= t - SPARK_SECONDS) cut++;
  if (cut > 0) {
    sp.t.splice(0, cut); sp.rtt.splice(0, cut); sp.freeze.splice(0, cut); sp.dropouts.splice(0, cut);
  }
}

/** Folds a tick: tiles, sparklines, probes, the active incidents. */
export function applyTick(m) {
  const t = m.t || Math.floor(serverNow() / 1000);
  let added = false;
  for (const [id, tile] of Object.entries(m.rooms || {})) {
    if (!state.tiles.has(id)) added = true;
    state.tiles.set(id, tile);
    pushSpark(id, t, tile);
  }
  if (m.probes) state.probes = m.probes;
  if (m.source) state.source = m.source;
  markData(t);
  if (m.incidents) {
    state.incidents = m.incidents.slice().sort(byDeadline);
    emit('incidents');
  }
  if (added && state.loaded) {
    // A room the hello did not have: put it under its sub-center.
    for (const [id, tile] of state.tiles) {
      if (state.subCenters.some((sc) => sc.rooms.includes(id))) continue;
      let sc = state.subCenters.find((s) => s.id === tile.sub_center);
      if (!sc) {
        sc = { id: tile.sub_center || '', name: tile.sub_center || '', kind: '', rooms: [] };
        state.subCenters.push(sc);
      }
      sc.rooms.push(id);
    }
    emit('overview');
  }
  emit('tick', m);
  emit('conn');
}

/** Folds an incident event: the brief replaces the one kept, or leaves the
 * active list once resolved or merged. */
export function applyIncident(m) {
  const b = m.incident;
  if (!b || !b.id) return;
  const rest = state.incidents.filter((x) => x.id !== b.id);
  if (isActive(b.state)) rest.push(b);
  state.incidents = rest.sort(byDeadline);
  emit('incidents', m);
}

export function setConn(c) {
  if (state.conn === c) return;
  state.conn = c;
  emit('conn');
}

/** Whether what the page shows is stale: the feed is down, or no tick came
 * for more than 3 s. The first connection gets 3 s before it counts. */
export function isStale(nowMs = Date.now()) {
  if (!state.user) return false;
  if (state.conn === 'open') return nowMs - Math.max(state.lastDataAt, state.openedAt) > 3000;
  return state.failures > 0 || nowMs - state.startedAt > 3000;
}
