// The console's web UI: boots the app, signs the user in (or sends them to
// the login page), opens the live feed and routes between the pages.

import { route, start as startRouter, navigate, reload, here, currentRoute } from './router.js';
import { get, post, setCSRF, setUnauthorizedHandler, ApiError } from './api.js';
import { state, setUser, setCity } from './store.js';
import { start as startLive, stop as stopLive, setAuthLostHandler } from './live.js';
import { onLang, t } from './i18n.js';
import { mountHeader, showHeader, setActiveNav, words } from './header.js';
import { h } from './dom.js';
import * as login from './pages/login.js';
import * as overview from './pages/overview.js';
import * as room from './pages/room.js';
import * as incidents from './pages/incidents.js';
import * as incident from './pages/incident.js';
import * as print from './pages/print.js';
import * as schedule from './pages/schedule.js';
import * as ack from './pages/ack.js';
import * as reports from './pages/reports.js';

// A link written the old way (#/incidents/ID) goes to its path.
if (location.hash.startsWith('#/')) {
  history.replaceState(null, '', location.hash.slice(1));
}

// ?screen=1: the wall display. The header keeps the city, the clock and the
// banners, without navigation or buttons; larger type. Kept for the tab's
// life (?screen=0 ends it).
(function screenMode() {
  const q = new URLSearchParams(location.search);
  try {
    if (q.get('screen') === '1') sessionStorage.setItem('bidwatch.screen', '1');
    if (q.get('screen') === '0') sessionStorage.removeItem('bidwatch.screen');
    if (sessionStorage.getItem('bidwatch.screen') === '1') screen();
  } catch (e) {
    if (q.get('screen') === '1') screen();
  }
  function screen() {
    document.documentElement.classList.add('screen');
    document.body.classList.add('screen');
  }
}());

route('overview', /^\/$/, overview.mount);
route('login', /^\/login$/, login.mount, { public: true, bare: true });
route('room', /^\/rooms\/([^/]+)$/, room.mount);
route('incidents', /^\/incidents$/, incidents.mount);
route('print', /^\/incidents\/([^/]+)\/print$/, print.mount, { bare: true });
route('incident', /^\/incidents\/([^/]+)$/, incident.mount);
route('schedule', /^\/schedule$/, schedule.mount);
route('ack', /^\/ack$/, ack.mount);
route('reports', /^\/reports$/, reports.mount);
route('notfound', /^.*$/, (root) => {
  root.append(h('section', { class: 'panel' }, h('h1', { text: t('notfound') }), h('a', { href: '/', 'data-link': '', text: t('room.back') })));
});

const NAV = { overview: 'overview', room: 'overview', incidents: 'incidents', incident: 'incidents', schedule: 'schedule', reports: 'reports' };

function toLogin() {
  const next = here();
  try { sessionStorage.setItem('bidwatch.next', next); } catch (e) { /* the query has it */ }
  const q = next && next !== '/' ? '?next=' + encodeURIComponent(next) : '';
  navigate('/login' + q, { replace: true });
}

async function logout() {
  try { await post('/api/logout'); } catch (e) { /* gone either way */ }
  stopLive();
  setCSRF('');
  setUser(null);
  try { sessionStorage.removeItem('bidwatch.next'); } catch (e) { /* fine */ }
  navigate('/login', { replace: true });
}

function guard(m) {
  if (!m.route.public && !state.user) {
    toLogin();
    return false;
  }
  return true;
}

function after(m) {
  showHeader(!m.route.bare && Boolean(state.user));
  setActiveNav(NAV[m.route.name] || '');
  document.body.dataset.page = m.route.name;
}

function keys(ev) {
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const tag = ev.target && ev.target.tagName;
  if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || (ev.target && ev.target.isContentEditable)) return;
  if (!state.user) return;
  switch (ev.key) {
    case '1': navigate('/'); break;
    case '2': navigate('/incidents'); break;
    case '3': navigate('/schedule'); break;
    case '4': navigate('/reports'); break;
    case 'f':
    case 'F':
      if (document.fullscreenElement) document.exitFullscreen();
      else if (document.documentElement.requestFullscreen) document.documentElement.requestFullscreen().catch(() => {});
      break;
    default: return;
  }
  ev.preventDefault();
}

async function boot() {
  const app = document.getElementById('app');
  const header = h('header', { class: 'header', hidden: true });
  const banners = h('div', { class: 'banners' });
  const main = h('main', { class: 'main', id: 'main' });
  app.replaceChildren(header, banners, main);
  mountHeader(header, banners, { logout });
  setUnauthorizedHandler(() => {
    stopLive();
    setUser(null);
    toLogin();
  });
  setAuthLostHandler(() => {
    setUser(null);
    toLogin();
  });
  onLang(() => {
    words();
    reload();
  });
  document.addEventListener('keydown', keys);

  // Who is signed in. A console that cannot answer (down, restarting, its
  // Redis away) is asked again: a wall display reloaded meanwhile must not
  // fall back to the login page while its session is still good.
  for (let attempt = 0; ; attempt++) {
    try {
      const me = await get('/api/me', { noRedirect: true });
      setCSRF(me && me.csrf);
      setUser(me && me.user);
      if (me && me.city) setCity(me.city);
      startLive();
      break;
    } catch (e) {
      if (e instanceof ApiError && (e.status === 401 || e.status === 403)) break; // not signed in
      main.replaceChildren(h('p', { class: 'placeholder placeholder-error', testid: 'boot-error', text: t('boot.retry', { msg: e.status ? `${e.status} ${e.message}` : t('err.net') }) }));
      await new Promise((r) => setTimeout(r, Math.min(1000 * 2 ** attempt, 5000)));
    }
  }
  startRouter(main, guard, after);
  if (state.user && currentRoute() && currentRoute().name === 'login') {
    // Signed in already: go on to where the login page would have sent them.
    const next = new URLSearchParams(location.search).get('next');
    navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/', { replace: true });
  }
}

boot();
