// A room: its figures now, a chart per metric with one series per view
// (probe location and transport) over the last 10 minutes — first from
// GET /api/rooms/{id}, then extended every second by the live feed — its
// servers with their health, its sessions and its incident history.

import { h, link, replace, setText } from '../dom.js';
import { t, word } from '../i18n.js';
import { get } from '../api.js';
import { state, on, serverNow } from '../store.js';
import { watchRoom } from '../live.js';
import { hm, shortDateTime, ms, num, ago } from '../fmt.js';
import { timeChart } from '../charts.js';
import { pointsOf, isVideo, align } from '../series.js';
import { incidentRow, errorText, placeholder, subCenterName } from './common.js';

const METRICS = [
  { key: 'rtt_ms', label: 'metric.rtt', unit: 'ms' },
  { key: 'lag_ms', label: 'metric.lag', unit: 'ms' },
  { key: 'fps', label: 'metric.fps', unit: 'fps', video: true },
  { key: 'freeze_ms', label: 'metric.freeze', unit: 'ms' },
  { key: 'loss_pct', label: 'metric.loss', unit: '%', digits: 1, video: true },
  { key: 'dropouts', label: 'metric.dropouts', unit: '', integer: true },
];

/** A figure in its unit. */
function fig(mt, v) {
  if (mt.unit === 'ms') return ms(v);
  if (mt.unit === '%') return num(v, 1, '%');
  return num(v);
}

export function mount(root, [id]) {
  const span = { s: 600 };
  const views = new Map(); // view → Map(t → point)
  const head = h('div', { class: 'room-head' });
  const figures = h('div', { class: 'room-figures' });
  const chartsEl = h('div', { class: 'charts' });
  const viewsEl = h('div', { class: 'room-views' });
  const serversEl = h('div', { class: 'room-servers' });
  const sessionsEl = h('div', { class: 'room-sessions' });
  const incidentsEl = h('div', { class: 'room-incidents inc-list' });
  const body = h('div', { class: 'room-body', hidden: true },
    figures,
    h('section', { class: 'panel' }, h('h2', { text: t('room.charts') }), chartsEl),
    h('div', { class: 'room-columns' },
      h('section', { class: 'panel' }, h('h2', { text: t('room.views') }), viewsEl),
      h('section', { class: 'panel' }, h('h2', { text: t('room.servers') }), serversEl)),
    h('div', { class: 'room-columns' },
      h('section', { class: 'panel' }, h('h2', { text: t('room.sessions') }), sessionsEl),
      h('section', { class: 'panel' }, h('h2', { text: t('room.incidents') }), incidentsEl)),
  );
  const status = placeholder(t('ov.loading'));
  root.append(h('div', { class: 'room-page', data: { room: id } },
    link('/', { class: 'back', text: '← ' + t('room.back') }), head, status, body));

  const charts = [];
  let alive = true;
  let tile = state.tiles.get(id) || null;

  function addPoints(view, pts) {
    let m = views.get(view);
    if (!m) { m = new Map(); views.set(view, m); }
    for (const p of pts) m.set(p.t, p);
  }

  function trim(now) {
    for (const m of views.values()) {
      for (const t0 of m.keys()) if (t0 < now - span.s) m.delete(t0);
    }
  }

  function paintCharts() {
    const now = state.dataTime || Math.floor(serverNow() / 1000);
    trim(now);
    const names = [...views.keys()].sort();
    METRICS.forEach((mt, i) => {
      const ns = mt.video ? names.filter(isVideo) : names;
      const c = charts[i];
      c.chart.setSeries(ns);
      c.box.closest('.chart').hidden = mt.video && ns.length === 0;
      c.chart.update(align(views, ns, mt.key), now);
    });
  }

  function paintHead() {
    const d = tile || { id, name: id, state: 'unknown' };
    const st = d.state || 'unknown';
    replace(head,
      h('h1', { class: 'room-title' }, h('span', { text: d.name || id }), ' ', h('span', { class: 'chip chip-state', data: { state: st }, testid: 'room-state', text: word('state', st) })),
      h('p', { class: 'muted' }, [word('kind', d.kind), subCenterName(d.sub_center), d.session ? `${t('ov.session')} ${hm(d.session.opens_at)}–${hm(d.session.ends_at)} ${d.session.title || ''}` : t('ov.nosession')].filter(Boolean).join(' · ')));
    const fresh = st !== 'idle' && d.n !== 0;
    const video = Object.keys(d.views || {}).some(isVideo);
    replace(figures, METRICS.map((mt) => {
      const v = d[mt.key];
      const text = !fresh || (mt.video && !video) ? '—' : fig(mt, v);
      return h('div', { class: 'figure' }, h('span', { class: 'figure-label', text: t(mt.label) }), h('span', { class: 'figure-value', text }));
    }));
    paintViews(d);
  }

  function paintViews(d) {
    const vs = Object.entries(d.views || {}).sort(([a], [b]) => a.localeCompare(b));
    if (!vs.length) {
      replace(viewsEl, placeholder(t('room.noviews')));
      return;
    }
    replace(viewsEl, h('table', { class: 'table' },
      h('thead', {}, h('tr', {}, h('th', { text: t('room.views') }), h('th', { text: t('col.state') }), METRICS.map((mt) => h('th', { text: t(mt.label) })))),
      h('tbody', {}, vs.map(([name, v]) => h('tr', { data: { view: name } },
        h('td', { text: name }),
        h('td', {}, h('span', { class: 'chip chip-state', data: { state: v.state || 'unknown' }, text: word('state', v.state || 'unknown') })),
        METRICS.map((mt) => h('td', { class: 'num', text: mt.video && !isVideo(name) ? '—' : fig(mt, v[mt.key]) })))))));
  }

  function paintServers(servers) {
    if (!servers || !servers.length) {
      replace(serversEl, placeholder(t('room.noservers')));
      return;
    }
    const now = serverNow();
    replace(serversEl, servers.map((sv) => h('div', { class: 'server', data: { server: sv.id, state: sv.state || 'unknown' } },
      h('div', { class: 'server-head' },
        h('span', { class: 'chip chip-state', data: { state: sv.state || 'unknown' }, text: word('state', sv.state || 'unknown') }),
        h('strong', { text: sv.name || sv.id }),
        h('span', { class: 'muted', text: ` ${sv.id} · ${sv.role || ''}` })),
      h('ul', { class: 'checks' }, (sv.readings || sv.health || []).map((r) => h('li', { class: r.ok ? 'check-ok' : 'check-bad' },
        h('span', { class: 'check-mark', text: r.ok ? '✓' : '✗' }),
        h('span', { text: `${r.check || r.kind || ''} ` }),
        h('span', { class: 'muted', text: `${ago(r.at, now)} · ${t('room.server.latency', { ms: num(r.latency_ms) })}` }),
        r.error ? h('div', { class: 'check-error', text: r.error }) : null,
        r.values ? h('div', { class: 'muted small', text: Object.entries(r.values).sort().map(([k, v]) => `${k} ${num(v, 1)}`).join(' · ') }) : null))))));
  }

  function paintSessions(sessions) {
    if (!sessions || !sessions.length) {
      replace(sessionsEl, placeholder(t('room.nosessions')));
      return;
    }
    replace(sessionsEl, h('ul', { class: 'sessions' }, sessions.map((s) => h('li', { class: ['session', s.cancelled && 'cancelled'], data: { state: s.state || '' } },
      h('span', { class: 'session-time', text: `${shortDateTime(s.opens_at)}–${hm(s.ends_at)}` }),
      ' ', h('span', { text: s.title || s.id }),
      s.cancelled ? h('span', { class: 'chip', text: t('sched.cancelled') }) : null,
      s.state === 'live' ? h('span', { class: 'chip chip-live', text: t('sched.inprogress') }) : null))));
  }

  function paintIncidents(list) {
    if (!list || !list.length) {
      replace(incidentsEl, placeholder(t('room.noincidents')));
      return;
    }
    replace(incidentsEl, list.map((b) => incidentRow(b)));
  }

  // The charts are made before the data: uPlot needs their boxes laid out.
  METRICS.forEach((mt) => {
    const box = h('div', { class: 'chart-box' });
    chartsEl.append(h('div', { class: 'chart', data: { metric: mt.key } }, h('h3', { text: t(mt.label) + (mt.unit ? ` (${mt.unit})` : '') }), box));
    charts.push({ box, chart: null });
  });

  let incidentList = [];
  get('/api/rooms/' + encodeURIComponent(id)).then((r) => {
    if (!alive) return;
    status.remove();
    body.hidden = false;
    if (r.history_s) span.s = r.history_s;
    tile = r.room || r.tile || tile;
    charts.forEach((c, i) => { c.chart = timeChart(c.box, { unit: METRICS[i].unit, digits: METRICS[i].digits || 0, span: span.s, timeLabel: t('chart.time'), integer: Boolean(METRICS[i].integer) }); });
    const hist = r.views || r.history || r.series || {};
    for (const [view, v] of Object.entries(hist)) addPoints(view, pointsOf(v));
    paintHead();
    paintCharts();
    paintServers(r.servers);
    paintSessions(r.sessions);
    incidentList = r.incidents || [];
    paintIncidents(incidentList);
    watchRoom(id);
  }).catch((e) => {
    if (!alive) return;
    setText(status, e.status === 404 ? t('room.notfound') : errorText(e));
    status.classList.add('placeholder-error');
  });

  const offs = [
    on('tick', (m) => {
      const d = m && m.rooms ? m.rooms[id] : null;
      if (d) {
        tile = d;
        // The tick's views carry each view's newest second.
        for (const [view, v] of Object.entries(d.views || {})) {
          if (typeof v.t === 'number' && v.t > 0 && v.n !== 0) addPoints(view, [v]);
        }
      }
      if (!charts[0].chart) return;
      paintHead();
      paintCharts();
    }),
    on('overview', () => { if (charts[0].chart) { paintHead(); paintIncidents(incidentList); } }),
    on('room', (m) => {
      if (!m || m.room !== id || !charts[0].chart) return;
      for (const [view, v] of Object.entries(m.views || {})) addPoints(view, pointsOf(v));
    }),
    on('incidents', (m) => {
      // An event about one of this room's incidents: show its new state.
      const b = m && m.incident;
      if (!b || !(b.rooms || []).includes(id)) return;
      incidentList = [b, ...incidentList.filter((x) => x.id !== b.id)];
      paintIncidents(incidentList);
    }),
  ];
  return () => {
    alive = false;
    offs.forEach((f) => f());
    watchRoom(null);
    for (const c of charts) if (c.chart) c.chart.destroy();
  };
}
