// The header on every page but login and print: city, navigation, the
// signed-in user, logout, the language switch, a live clock, and the stale
// banner that says plainly when what the page shows is old.

import { h, setText, link } from './dom.js';
import { t, lang, setLang, word } from './i18n.js';
import { state, on, isStale, serverNow } from './store.js';
import { hms, toDate } from './fmt.js';

let els = null;

/** Builds the header into el (once). logout() signs out. */
export function mountHeader(el, banners, { logout }) {
  const city = h('span', { class: 'city', testid: 'city-name' });
  const navOverview = link('/', { class: 'nav-link', data: { nav: 'overview' } });
  const navIncidents = link('/incidents', { class: 'nav-link', data: { nav: 'incidents' } });
  const incCount = h('span', { class: 'badge', hidden: true });
  navIncidents.append(incCount);
  const navSchedule = link('/schedule', { class: 'nav-link', data: { nav: 'schedule' } });
  const navReports = link('/reports', { class: 'nav-link', data: { nav: 'reports' } });
  const navText = [h('span'), h('span'), h('span'), h('span')];
  navOverview.prepend(navText[0]);
  navIncidents.prepend(navText[1]);
  navSchedule.prepend(navText[2]);
  navReports.prepend(navText[3]);
  const nav = h('nav', { class: 'nav' }, navOverview, navIncidents, navSchedule, navReports);
  const clock = h('time', { class: 'clock', testid: 'clock' });
  const userName = h('span', { class: 'user-name', testid: 'user-name' });
  const userRole = h('span', { class: 'user-role' });
  const langBtn = h('button', { type: 'button', class: 'btn btn-ghost', testid: 'lang-switch', onclick: () => setLang(lang() === 'zh' ? 'en' : 'zh') });
  const logoutBtn = h('button', { type: 'button', class: 'btn btn-ghost', testid: 'logout', onclick: () => logout() });
  const user = h('div', { class: 'user' }, userName, userRole);
  el.replaceChildren(
    h('div', { class: 'brand' }, h('span', { class: 'logo', 'aria-hidden': 'true' }), city),
    nav,
    h('div', { class: 'header-right' }, clock, user, langBtn, logoutBtn),
  );
  const stale = h('div', { class: 'banner banner-stale', testid: 'stale-banner', role: 'alert', hidden: true });
  const source = h('div', { class: 'banner banner-source', testid: 'source-banner', role: 'status', hidden: true });
  banners.replaceChildren(stale, source);
  els = { el, city, nav, navText, incCount, clock, userName, userRole, langBtn, logoutBtn, stale, source, navLinks: { overview: navOverview, incidents: navIncidents, schedule: navSchedule, reports: navReports } };
  words();
  on('user', update);
  on('overview', update);
  on('incidents', update);
  on('conn', tickBanner);
  update();
  setInterval(() => { clockTick(); tickBanner(); }, 500);
  clockTick();
}

/** Re-draws the header's words (after a language switch). */
export function words() {
  if (!els) return;
  setText(els.navText[0], t('nav.overview'));
  setText(els.navText[1], t('nav.incidents'));
  setText(els.navText[2], t('nav.schedule'));
  setText(els.navText[3], t('nav.reports'));
  els.nav.setAttribute('aria-label', t('nav.main'));
  setText(els.langBtn, t('header.lang'));
  els.langBtn.title = t('header.lang.title');
  setText(els.logoutBtn, t('header.logout'));
  update();
  tickBanner();
}

function update() {
  if (!els) return;
  setText(els.city, state.city.name || t('app.title'));
  document.title = state.city.name ? `${state.city.name} · bidwatch` : 'bidwatch';
  const u = state.user;
  setText(els.userName, u ? u.display || u.name : '');
  setText(els.userRole, u ? word('role', u.role) : '');
  const n = state.incidents.length;
  els.incCount.hidden = n === 0;
  setText(els.incCount, n);
}

/** Marks the nav link of the page shown. */
export function setActiveNav(name) {
  if (!els) return;
  for (const [k, a] of Object.entries(els.navLinks)) {
    if (k === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

/** Shows or hides the header (login and print pages have none). */
export function showHeader(on) {
  if (!els) return;
  els.el.hidden = !on;
  if (!on) {
    els.stale.hidden = true;
    els.source.hidden = true;
    document.body.classList.remove('is-stale');
  }
}

function clockTick() {
  if (!els) return;
  setText(els.clock, hms(new Date(serverNow())));
}

function tickBanner() {
  if (!els || els.el.hidden) return;
  const stale = isStale();
  if (stale) {
    let msg;
    if (!state.dataTime) msg = t('stale.never');
    else if (state.conn === 'open') msg = t('stale.quiet', { time: hms(state.dataTime) });
    else msg = t('stale.down', { time: hms(state.dataTime) });
    setText(els.stale, msg);
  }
  if (els.stale.hidden === stale) els.stale.hidden = !stale;
  document.body.classList.toggle('is-stale', stale);
  const src = !stale && state.loaded && state.source && state.source.ok === false;
  if (src) {
    const d = toDate(state.source.read_at);
    setText(els.source, t('source.down', { time: d ? hms(d) : '—' }));
  }
  if (els.source.hidden === src) els.source.hidden = !src;
}
