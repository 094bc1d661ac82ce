// Pieces several pages share: state chips, incident rows, SLA countdowns,
// error words.

import { h, link, setText, setData } from '../dom.js';
import { t, word, lang } from '../i18n.js';
import { state, serverNow, isActive } from '../store.js';
import { mmss, toDate } from '../fmt.js';
import { ApiError } from '../api.js';

/** A room's name, from the tiles the feed keeps; its id when unknown. */
export function roomName(id) {
  const tile = state.tiles.get(id);
  return tile && tile.name ? tile.name : id;
}

/** A sub-center's name; its id when unknown. */
export function subCenterName(id) {
  const sc = state.subCenters.find((s) => s.id === id);
  return sc && sc.name ? sc.name : id;
}

/** A chip that says a state in words and colour. */
export function chip(kind, value, extra) {
  return h('span', { class: ['chip', `chip-${kind}`, `${kind}-${value}`, extra] , data: { value }, text: word(kind === 'tile' ? 'state' : kind, value) });
}

/**
 * The SLA countdown of an incident brief as {text, level}: level is
 * "breached" (past its deadline, or recorded breached), "soon" (under 10
 * minutes left), "ok", or "done" (no longer active).
 */
export function countdown(b, nowMs = serverNow()) {
  const d = toDate(b.deadline);
  if (!isActive(b.state)) {
    return { text: b.breached ? t('sla.breached') : '', level: b.breached ? 'breached' : 'done' };
  }
  if (!d) return { text: '—', level: 'ok' };
  const left = (d.getTime() - nowMs) / 1000;
  if (left < 0) return { text: t('sla.over', { mmss: mmss(-left) }), level: 'breached' };
  return { text: t('sla.left', { mmss: mmss(left) }), level: b.breached ? 'breached' : left < 600 ? 'soon' : 'ok' };
}

/** Draws a countdown into el. */
export function paintCountdown(el, b) {
  const c = countdown(b);
  setText(el, c.text);
  setData(el, 'level', c.level);
}

/** Where an incident is, in words: its rooms by name, else its servers, else its sub-centers. */
export function placeOf(b) {
  if (b.rooms && b.rooms.length) return b.rooms.map(roomName).join('、');
  if (b.servers && b.servers.length) return b.servers.join('、');
  if (b.sub_centers && b.sub_centers.length) return b.sub_centers.map(subCenterName).join('、');
  return b.subject || '';
}

/** An incident as a row (a link to it). cols: which cells. */
export function incidentRow(b, { compact = false } = {}) {
  const cd = h('span', { class: 'countdown' });
  paintCountdown(cd, b);
  const row = link('/incidents/' + encodeURIComponent(b.id), {
    class: ['inc-row', compact && 'inc-row-compact', `sev-${b.severity || 'degraded'}`],
    testid: 'incident-row',
    data: { id: b.id, state: b.state, class: b.class },
  },
  h('div', { class: 'inc-head' },
    chip('class', b.class),
    h('span', { class: 'inc-id', text: b.id }),
    chip('inc', b.state),
    b.paging === false ? h('span', { class: 'chip chip-muted', text: t('inc.muted'), title: b.muted_by || '' }) : null,
    cd),
  h('div', { class: 'inc-summary', text: b.summary || `${word('cause', b.cause)} ${b.subject || ''}` }),
  h('div', { class: 'inc-place' }, h('span', { class: 'muted', text: word('cause', b.cause) + ' · ' }), placeOf(b)),
  );
  row._countdown = cd;
  row._brief = b;
  return row;
}

/** An API error in plain words: ours first, then the server's reason when
 * it adds something. */
export function errorText(e) {
  if (!(e instanceof ApiError)) return String(e && e.message ? e.message : e);
  const more = (base) => {
    const msg = (e.message || '').trim();
    if (!msg || msg.includes(base)) return base;
    return base + (lang() === 'zh' ? '：' : ': ') + msg;
  };
  switch (e.status) {
    case 0: return t('err.net');
    case 400: return t('err.400', { msg: e.message });
    case 401: return t('err.401');
    case 403: return /csrf/i.test(e.message || '') ? t('err.csrf') : t('err.403');
    case 404: return t('err.404');
    case 409: return more(t('err.409'));
    case 429: return t('err.429');
    default: return t('err.other', { status: e.status, msg: e.message });
  }
}

/** A "loading…" or error placeholder. */
export function placeholder(text, cls = '') {
  return h('p', { class: ['placeholder', cls], text });
}
