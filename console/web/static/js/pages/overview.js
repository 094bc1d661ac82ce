// The overview: the big screen in the machine room. Per sub-center its
// rooms' tiles (state colour, session, figures, three sparklines over the
// last 120 s), the active incidents with their SLA countdowns, and the
// probe agents' health. Everything updates from the live feed.

import { h, link, replace, setText, setData } from '../dom.js';
import { t, word } from '../i18n.js';
import { state, on, serverNow, SPARK_SECONDS } from '../store.js';
import { hm, ms, num, ago } from '../fmt.js';
import { sparkline } from '../charts.js';
import { incidentRow, paintCountdown, placeholder } from './common.js';

const SPARKS = [
  { key: 'rtt', label: 'metric.rtt', color: '#56b4e9', floor: 100, unit: 'ms' },
  { key: 'freeze', label: 'metric.freeze', color: '#e69f00', floor: 200, unit: 'ms' },
  { key: 'dropouts', label: 'metric.dropouts', color: '#ff6b6b', floor: 2, unit: '', bars: true },
];

const STATE_ORDER = ['down', 'degraded', 'unknown', 'ok', 'idle'];

export function mount(root) {
  const tilesEl = h('div', { class: 'ov-main' });
  const incList = h('div', { class: 'inc-list', testid: 'active-incidents' });
  const incCount = h('span', { class: 'panel-count' });
  const probeList = h('div', { class: 'probe-list', testid: 'probes' });
  const probeCount = h('span', { class: 'panel-count' });
  const side = h('aside', { class: 'ov-side' },
    h('section', { class: 'panel' }, h('h2', {}, t('ov.incidents'), ' ', incCount), incList),
    h('section', { class: 'panel' }, h('h2', {}, t('ov.probes'), ' ', probeCount), probeList),
    legend());
  root.append(h('div', { class: 'overview' }, tilesEl, side));

  const tiles = new Map(); // room id → {el, parts, sparks}
  let scSummaries = new Map(); // sub-center id → summary element

  function destroyTiles() {
    for (const tile of tiles.values()) for (const s of tile.sparks) s.destroy();
    tiles.clear();
  }

  function build() {
    destroyTiles();
    scSummaries = new Map();
    if (!state.loaded) {
      replace(tilesEl, placeholder(t('ov.loading')));
      return;
    }
    const sections = [];
    for (const sc of state.subCenters) {
      const grid = h('div', { class: 'tiles' });
      const summary = h('span', { class: 'sc-summary' });
      scSummaries.set(sc.id, summary);
      sections.push(h('section', { class: 'sc', data: { sc: sc.id, n: Math.min(sc.rooms.length, 5) } },
        h('h2', { class: 'sc-title' }, h('span', { text: sc.name || sc.id }), h('span', { class: 'sc-kind', text: word('kind', sc.kind) }), summary),
        grid));
      for (const id of sc.rooms) {
        const tile = makeTile(id);
        tiles.set(id, tile);
        grid.append(tile.el);
      }
    }
    replace(tilesEl, sections);
    // Sparklines need their boxes laid out to know their size.
    requestAnimationFrame(() => {
      for (const [id, tile] of tiles) {
        if (!tile.el.isConnected) continue;
        tile.sparks = SPARKS.map((sp, i) => sparkline(tile.sparkBoxes[i], { color: sp.color, floor: sp.floor, bars: sp.bars, span: SPARK_SECONDS }));
        paintSparks(id, tile);
      }
    });
    update();
  }

  function update() {
    const counts = new Map();
    for (const [id, tile] of tiles) {
      const d = state.tiles.get(id);
      if (!d) continue;
      paintTile(tile, d);
      paintSparks(id, tile);
      const c = counts.get(d.sub_center) || {};
      c[d.state || 'unknown'] = (c[d.state || 'unknown'] || 0) + 1;
      counts.set(d.sub_center, c);
    }
    for (const [sc, el] of scSummaries) {
      const c = counts.get(sc) || {};
      const sig = STATE_ORDER.map((s) => c[s] || 0).join(',');
      if (el.dataset.sig === sig) continue;
      el.dataset.sig = sig;
      replace(el, STATE_ORDER.filter((s) => c[s]).map((s) => h('span', { class: `count state-${s}`, text: `${word('state', s)} ${c[s]}` })));
    }
    paintProbes();
  }

  function paintSparks(id, tile) {
    if (!tile.sparks.length) return;
    const sp = state.sparks.get(id);
    const now = Math.floor(serverNow() / 1000);
    SPARKS.forEach((s, i) => {
      const ys = sp ? sp[s.key] : [];
      tile.sparks[i].update(sp ? sp.t : [], ys, state.dataTime || now);
      let last = null;
      for (let j = ys.length - 1; j >= 0; j--) if (ys[j] !== null && ys[j] !== undefined) { last = ys[j]; break; }
      setText(tile.sparkValues[i], last === null ? '—' : s.unit ? ms(last) : num(last));
    });
  }

  let incSig = null;
  function paintIncidents() {
    const list = state.incidents;
    // The tick repeats the list every second: redraw only when it changed.
    const sig = list.map((b) => [b.id, b.state, b.class, b.deadline, b.breached, b.summary, (b.rooms || []).join(',')].join('|')).join('\n') + '#' + state.tiles.size;
    if (sig === incSig) return;
    incSig = sig;
    setText(incCount, list.length ? String(list.length) : '');
    if (!list.length) {
      replace(incList, placeholder(t('ov.noincidents'), 'placeholder-ok'));
      return;
    }
    replace(incList, list.map((b) => incidentRow(b, { compact: true })));
  }

  function paintCountdowns() {
    for (const row of incList.querySelectorAll('.inc-row')) paintCountdown(row._countdown, row._brief);
  }

  let probeSig = null;
  function paintProbes() {
    const order = { silent: 0, stopped: 1, running: 2 };
    const probes = state.probes.slice().sort((a, b) => (order[a.state] ?? 0) - (order[b.state] ?? 0) || String(a.id).localeCompare(String(b.id)));
    const bad = probes.filter((p) => p.state !== 'running').length;
    setText(probeCount, probes.length ? (bad ? `${probes.length - bad}/${probes.length}` : String(probes.length)) : '');
    if (!probes.length) {
      replace(probeList, placeholder(t('ov.noprobes'), 'placeholder-warn'));
      return;
    }
    const now = serverNow();
    // Redraw only when something shown changed (the tick repeats them).
    const sig = probes.map((p) => [p.id, p.location, p.state, p.state !== 'running' ? ago(p.last_seen, now) : '', p.problem || ''].join('|')).join('\n');
    if (sig === probeSig) return;
    probeSig = sig;
    replace(probeList, probes.map((p) => h('div', { class: ['probe', `probe-${p.state}`], testid: 'probe-row', data: { probe: p.id, state: p.state } },
      h('span', { class: 'dot', 'aria-hidden': 'true' }),
      h('span', { class: 'probe-id', text: p.id }),
      h('span', { class: 'probe-loc muted', text: p.location || '' }),
      h('span', { class: 'probe-state', text: word('probe', p.state) }),
      p.state !== 'running' ? h('span', { class: 'probe-seen muted', text: t('ov.lastseen', { ago: ago(p.last_seen, now) }) }) : null,
      p.problem ? h('div', { class: 'probe-problem', text: t('ov.problem', { text: p.problem }) }) : null,
    )));
  }

  build();
  paintIncidents();
  const offs = [
    on('overview', build),
    on('tick', update),
    on('incidents', paintIncidents),
  ];
  const timer = setInterval(paintCountdowns, 1000);
  return () => {
    offs.forEach((f) => f());
    clearInterval(timer);
    destroyTiles();
  };
}

function makeTile(id) {
  const name = h('h3', { class: 'tile-name' });
  const stateChip = h('span', { class: 'chip chip-state' });
  const kind = h('span', { class: 'tile-kind' });
  const session = h('div', { class: 'tile-session' });
  const figures = h('div', { class: 'tile-figures' });
  const incidents = h('div', { class: 'tile-incidents' });
  const sparkBoxes = [];
  const sparkValues = [];
  const sparkLabels = [];
  const sparkRow = h('div', { class: 'tile-sparks' }, SPARKS.map((s) => {
    const box = h('div', { class: 'spark-box' });
    const value = h('span', { class: 'spark-value' });
    const label = h('span', { class: 'spark-label', text: t(s.label) });
    sparkBoxes.push(box);
    sparkValues.push(value);
    sparkLabels.push(label);
    return h('div', { class: 'spark' }, h('div', { class: 'spark-head' }, label, value), box);
  }));
  const el = link('/rooms/' + encodeURIComponent(id), { class: 'tile', testid: 'tile', data: { room: id, state: 'unknown' } },
    h('div', { class: 'tile-top' }, name, stateChip),
    kind,
    session,
    figures,
    incidents,
    sparkRow,
  );
  return { el, name, stateChip, kind, session, figures, incidents, sparkBoxes, sparkValues, sparks: [] };
}

function paintTile(tile, d) {
  const st = d.state || 'unknown';
  setData(tile.el, 'state', st);
  setText(tile.name, d.name || d.id);
  tile.el.title = d.name || d.id;
  setText(tile.stateChip, word('state', st));
  setData(tile.stateChip, 'state', st);
  setText(tile.kind, word('kind', d.kind));
  if (d.session) {
    setText(tile.session, `${hm(d.session.opens_at)} ${d.session.title || d.session.id || ''}`);
    tile.session.classList.remove('muted');
  } else {
    setText(tile.session, t('ov.nosession'));
    tile.session.classList.add('muted');
  }
  const fresh = st !== 'idle' && !(d.n === 0);
  const parts = fresh
    ? [`${t('metric.rtt')} ${ms(d.rtt_ms)}`, `${t('metric.lag')} ${ms(d.lag_ms)}`].concat(d.fps ? [`${num(d.fps)} fps`] : []).concat(d.down ? [`${t('metric.down')} ${d.down}`] : [])
    : ['—'];
  setText(tile.figures, parts.join(' · '));
  const incs = d.incidents || [];
  setText(tile.incidents, incs.join(' '));
  tile.incidents.hidden = incs.length === 0;
}

function legend() {
  const states = ['ok', 'degraded', 'down', 'unknown', 'idle'];
  return h('section', { class: 'panel legend' },
    h('h2', { text: t('ov.legend') }),
    h('ul', {}, states.map((s) => h('li', {}, h('span', { class: `swatch state-${s}`, 'aria-hidden': 'true' }), h('span', { text: word('state', s) }), h('span', { class: 'muted', text: ' — ' + t('legend.' + s) })))),
    h('p', { class: 'muted small', text: t('keys.help') }));
}
