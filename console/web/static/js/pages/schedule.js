// The opening schedule: today's and upcoming openings from GET
// /api/schedule, which probe agents cover each, and "probe now" for
// operators (POST /api/rooms/{id}/probe).

import { h, link, replace, setText } from '../dom.js';
import { t, word } from '../i18n.js';
import { get, post } from '../api.js';
import { state, on, can, serverNow } from '../store.js';
import { hm, ymd } from '../fmt.js';
import { errorText, placeholder, roomName, subCenterName } from './common.js';

const MINUTES = [5, 10, 15, 30, 60];

export function mount(root) {
  const minutes = h('select', { id: 'probe-minutes', testid: 'probe-minutes' }, MINUTES.map((m) => h('option', { value: m, text: String(m) })));
  minutes.value = '10';
  const body = h('div', { class: 'sched-body' }, placeholder(t('ov.loading')));
  root.append(h('div', { class: 'sched-page' },
    h('div', { class: 'page-head' }, h('h1', { text: t('sched.title') }), h('div', { class: 'spacer' }),
      can('operator') ? h('label', { for: 'probe-minutes', class: 'inline', text: t('sched.minutes') }) : null,
      can('operator') ? minutes : null),
    body));

  let alive = true;
  let sessions = [];
  let sig = null;

  function probeChip(p) {
    const id = typeof p === 'string' ? p : p.id;
    const known = state.probes.find((x) => x.id === id);
    const st = (typeof p === 'object' && p.state) || (known && known.state) || '';
    return h('span', { class: ['chip', 'chip-probe', st && `probe-${st}`], data: { probe: id, state: st }, title: known && known.location ? known.location : '' },
      id, st && st !== 'running' ? ` · ${word('probe', st)}` : '');
  }

  function row(s) {
    const msg = h('span', { class: 'probe-msg', role: 'status' });
    const btn = can('operator') ? h('button', { type: 'button', class: 'btn btn-secondary btn-small', testid: 'probe-now', text: t('sched.probe'), onclick: async () => {
      btn.disabled = true;
      msg.className = 'probe-msg';
      setText(msg, t('act.busy'));
      try {
        const n = parseInt(minutes.value, 10) || 10;
        const r = await post('/api/rooms/' + encodeURIComponent(s.room) + '/probe', { minutes: n });
        setText(msg, t('sched.probe.sent', { n: (r && r.minutes) || n }));
        msg.classList.add('form-ok');
      } catch (e) {
        setText(msg, errorText(e));
        msg.classList.add('form-error');
      } finally {
        btn.disabled = false;
      }
    } }) : null;
    const probes = s.probes || [];
    const live = s.state === 'live';
    return h('tr', { class: ['opening', s.cancelled && 'cancelled', live && 'live'], testid: 'opening-row', data: { room: s.room, session: s.id, state: s.state || '' } },
      h('td', { class: 'nowrap' }, h('strong', { text: hm(s.opens_at) }), h('span', { class: 'muted', text: `–${hm(s.ends_at)}` }),
        live ? h('span', { class: 'chip chip-live', text: t('sched.inprogress') }) : null,
        s.cancelled ? h('span', { class: 'chip chip-cancelled', text: t('sched.cancelled') }) : null),
      h('td', {}, link('/rooms/' + encodeURIComponent(s.room), { text: s.room_name || roomName(s.room) }),
        h('div', { class: 'muted small', text: subCenterName(s.sub_center || (state.tiles.get(s.room) || {}).sub_center || '') })),
      h('td', {}, h('div', { text: s.title || '' }), h('div', { class: 'muted small', text: s.id })),
      h('td', {}, probes.length ? probes.map(probeChip) : h('span', { class: 'warn-text', text: t('sched.noprobes') })),
      h('td', { class: 'nowrap' }, btn, msg));
  }

  function table(list) {
    return h('table', { class: 'table table-sched' },
      h('thead', {}, h('tr', {}, ['sched.time', 'sched.room', 'sched.titlecol', 'sched.probes', ''].map((k) => h('th', { text: k ? t(k) : '' })))),
      h('tbody', {}, list.map(row)));
  }

  function paint() {
    if (!sessions.length) {
      replace(body, placeholder(t('sched.empty')));
      return;
    }
    const today = ymd(new Date(serverNow()));
    const todays = sessions.filter((s) => ymd(s.opens_at) <= today);
    const later = sessions.filter((s) => ymd(s.opens_at) > today);
    const parts = [];
    if (todays.length) parts.push(h('section', { class: 'panel' }, h('h2', { text: t('sched.today') + ' ' + today }), table(todays)));
    if (later.length) {
      // Upcoming days, each under its date.
      const days = new Map();
      for (const s of later) {
        const d = ymd(s.opens_at);
        if (!days.has(d)) days.set(d, []);
        days.get(d).push(s);
      }
      for (const [d, list] of days) parts.push(h('section', { class: 'panel' }, h('h2', { text: `${t('sched.upcoming')} ${d}` }), table(list)));
    }
    replace(body, parts);
  }

  function load() {
    get('/api/schedule').then((r) => {
      if (!alive) return;
      const next = ((r && r.sessions) || []).slice().sort((a, b) => Date.parse(a.opens_at) - Date.parse(b.opens_at));
      const s = JSON.stringify(next);
      if (s === sig) return; // unchanged: keep the rows (and their "sent" notes)
      sig = s;
      sessions = next;
      paint();
    }).catch((e) => {
      if (alive) replace(body, placeholder(errorText(e), 'placeholder-error'));
    });
  }
  load();
  // Openings move and probes come and go: read it again every 30 s.
  const timer = setInterval(load, 30000);
  const off = on('overview', () => { if (sessions.length) paint(); });
  return () => { alive = false; clearInterval(timer); off(); };
}
