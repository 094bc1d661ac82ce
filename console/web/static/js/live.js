// The live feed: one WebSocket to /api/live. It reconnects by itself with
// backoff (0.5 s, 1, 2, 4, then every 5 s); hello replaces the state, tick
// updates it, incident events update the lists. A page may ask for one
// room's full views (watchRoom).

import { state, applyOverview, applyTick, applyIncident, setConn, emit } from './store.js';
import { get, ApiError } from './api.js';

const BACKOFF = [500, 1000, 2000, 4000, 5000];

let ws = null;
let wanted = false;
let timer = null;
let room = null;
let onAuthLost = () => {};

/** Sets what happens when the feed fails because the session is gone. */
export function setAuthLostHandler(fn) { onAuthLost = fn; }

function url() {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}/api/live`;
}

function schedule() {
  if (!wanted || timer) return;
  const delay = BACKOFF[Math.min(state.failures - 1, BACKOFF.length - 1)] ?? 500;
  timer = setTimeout(() => { timer = null; connect(); }, delay);
}

async function checkAuth() {
  // A WebSocket cannot say why it was refused: after a few failures, ask
  // the API whether the session is still good.
  try {
    await get('/api/me', { noRedirect: true });
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      stop();
      onAuthLost();
    }
  }
}

function connect() {
  if (!wanted) return;
  setConn('connecting');
  let sock;
  try {
    sock = new WebSocket(url());
  } catch (e) {
    state.failures++;
    setConn('closed');
    schedule();
    return;
  }
  ws = sock;
  let opened = false;
  sock.onopen = () => {
    opened = true;
    state.openedAt = Date.now();
    setConn('open');
    if (room) send({ room });
  };
  sock.onmessage = (ev) => {
    let m;
    try { m = JSON.parse(ev.data); } catch (e) { return; }
    if (state.failures) state.failures = 0;
    handle(m);
  };
  sock.onclose = () => {
    if (ws !== sock) return;
    ws = null;
    state.failures++;
    setConn('closed');
    if (!opened && state.failures >= 3 && state.failures % 3 === 0) checkAuth();
    schedule();
  };
  sock.onerror = () => { /* onclose follows */ };
}

function body(m) {
  // The contract puts the body's fields beside "type"; a body nested under
  // "data", "body" or "overview" is taken as well.
  return m.data || m.body || m.overview || m;
}

function handle(m) {
  switch (m.type) {
    case 'hello':
      applyOverview(body(m));
      break;
    case 'tick':
      applyTick(body(m));
      break;
    case 'incident':
      applyIncident(body(m));
      break;
    case 'room':
      emit('room', body(m));
      break;
    default:
      break;
  }
}

function send(obj) {
  if (ws && ws.readyState === WebSocket.OPEN) {
    try { ws.send(JSON.stringify(obj)); } catch (e) { /* reconnect will resend */ }
  }
}

/** Opens the feed (once signed in). */
export function start() {
  if (wanted) return;
  wanted = true;
  state.startedAt = Date.now();
  state.failures = 0;
  connect();
}

/** Closes the feed (on logout). */
export function stop() {
  wanted = false;
  if (timer) { clearTimeout(timer); timer = null; }
  if (ws) { const s = ws; ws = null; s.close(); }
  setConn('idle');
}

/** Asks for one room's full views every second (null: none). */
export function watchRoom(id) {
  room = id;
  send({ room: id || '' });
}
