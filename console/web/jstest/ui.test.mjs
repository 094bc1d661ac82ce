// Tests of the UI's logic that needs no browser: formatting, the shared
// state the feed fills, countdowns, the fault record's words, series.
// Run by `go test ./console/web/` (TestJS) when node is installed, or:
//   node --experimental-default-type=module --test console/web/jstest/

import test from 'node:test';
import assert from 'node:assert/strict';

import { mmss, duration, toDate, ms, hms } from '../static/js/fmt.js';
import { t, word, setLang, lang } from '../static/js/i18n.js';
import { state, applyOverview, applyTick, applyIncident, isStale, setConn, can, setUser, SPARK_SECONDS } from '../static/js/store.js';
import { countdown } from '../static/js/pages/common.js';
import { figures, handling } from '../static/js/pages/record.js';
import { safeNext } from '../static/js/router.js';
import { pointsOf, isVideo, align } from '../static/js/series.js';

test('fmt', () => {
  assert.equal(mmss(65), '01:05');
  assert.equal(mmss(-65), '01:05');
  assert.equal(mmss(3725), '1:02:05');
  assert.equal(toDate('0001-01-01T00:00:00Z'), null);
  assert.equal(toDate(''), null);
  assert.equal(toDate(1796306512).getTime(), 1796306512000);
  assert.equal(ms(38.2), '38 ms');
  assert.equal(ms(0.44), '0.4 ms');
  assert.equal(ms(0), '0 ms');
  assert.equal(ms(undefined), '—');
  assert.equal(hms(null), '—');
  assert.equal(lang(), 'zh');
  assert.equal(duration(65000), '1 分 5 秒');
  assert.equal(duration(3 * 3600e3 + 120e3), '3 小时 2 分');
});

test('i18n', () => {
  assert.equal(t('login.toomany', { n: 30 }), '尝试过多，请 30 秒后再试');
  assert.equal(t('stale.down', { time: '09:30:01' }), '连接已断开，显示的是 09:30:01 的数据，正在重连…');
  assert.equal(word('state', 'down'), '中断');
  assert.equal(word('class', 'major'), '重大故障');
  assert.equal(word('state', 'weird'), 'weird');
  setLang('en');
  assert.equal(t('login.toomany', { n: 3 }), 'Too many attempts: try again in 3 s');
  assert.equal(word('inc', 'signed_off'), 'Signed off');
  setLang('zh');
  assert.equal(t('no.such.key'), 'no.such.key');
});

function tile(id, sc, extra = {}) {
  return { id, name: id.toUpperCase(), kind: 'opening-hall', sub_center: sc, state: 'ok', session: null, t: 0, rtt_ms: 30, lag_ms: 31, fps: 0, freeze_ms: 0, loss_pct: 0, dropouts: 0, down: 0, n: 2, ...extra };
}

test('store: hello, ticks, sparklines', () => {
  applyOverview({
    city: { ID: 'yangzhou', Name: '扬州市' }, // config.City has no json tags
    now: '2026-12-03T01:00:00Z',
    sub_centers: [{ id: 'yz', name: '交易中心', kind: 'center', rooms: [tile('yz-hall-1', 'yz'), tile('yz-hall-2', 'yz')] }],
    incidents: [
      { id: 'INC-2', state: 'open', deadline: '2026-12-03T03:00:00Z' },
      { id: 'INC-1', state: 'acknowledged', deadline: '2026-12-03T02:00:00Z' },
    ],
    probes: [{ id: 'yz@a', state: 'running' }],
    sparks: { 'yz-hall-1': { t: [100, 101], rtt: [10, 11], freeze: [0, 0], dropouts: [0, 0] } },
    source: { ok: true },
  });
  assert.equal(state.city.name, '扬州市');
  assert.deepEqual(state.subCenters.map((s) => s.rooms), [['yz-hall-1', 'yz-hall-2']]);
  assert.deepEqual(state.incidents.map((b) => b.id), ['INC-1', 'INC-2'], 'nearest deadline first');
  assert.ok(state.loaded);

  applyTick({ type: 'tick', t: 102, rooms: { 'yz-hall-1': tile('yz-hall-1', 'yz', { rtt_ms: 40 }), 'yz-hall-2': tile('yz-hall-2', 'yz', { state: 'idle', n: 0 }) } });
  let sp = state.sparks.get('yz-hall-1');
  assert.deepEqual(sp.t, [100, 101, 102]);
  assert.deepEqual(sp.rtt, [10, 11, 40]);
  assert.deepEqual(state.sparks.get('yz-hall-2').rtt, [null], 'no data is a gap, not a zero');
  assert.equal(state.dataTime, 102);

  // The same second again replaces; an older one is ignored.
  applyTick({ t: 102, rooms: { 'yz-hall-1': tile('yz-hall-1', 'yz', { rtt_ms: 41 }) } });
  applyTick({ t: 90, rooms: { 'yz-hall-1': tile('yz-hall-1', 'yz', { rtt_ms: 99 }) } });
  sp = state.sparks.get('yz-hall-1');
  assert.deepEqual(sp.rtt, [10, 11, 41]);

  // Only the last 120 s are kept.
  for (let s = 103; s < 103 + 200; s++) applyTick({ t: s, rooms: { 'yz-hall-1': tile('yz-hall-1', 'yz') } });
  sp = state.sparks.get('yz-hall-1');
  assert.equal(sp.t.length, SPARK_SECONDS);
  assert.equal(sp.t[0], 302 - SPARK_SECONDS + 1);

  // A room the hello did not have joins its sub-center.
  applyTick({ t: 303, rooms: { 'jd-hall-1': tile('jd-hall-1', 'jd') } });
  assert.deepEqual(state.subCenters.map((s) => s.id), ['yz', 'jd']);

  // The tick's active list replaces the kept one.
  applyTick({ t: 304, rooms: {}, incidents: [{ id: 'INC-3', state: 'open', deadline: '2026-12-03T04:00:00Z' }] });
  assert.deepEqual(state.incidents.map((b) => b.id), ['INC-3']);
});

test('store: incident events', () => {
  state.incidents = [];
  applyIncident({ event: 'opened', incident: { id: 'INC-9', state: 'open', deadline: '2026-12-03T05:00:00Z' } });
  applyIncident({ event: 'opened', incident: { id: 'INC-8', state: 'open', deadline: '2026-12-03T04:00:00Z' } });
  assert.deepEqual(state.incidents.map((b) => b.id), ['INC-8', 'INC-9']);
  applyIncident({ event: 'acknowledged', incident: { id: 'INC-9', state: 'acknowledged', deadline: '2026-12-03T05:00:00Z' } });
  assert.equal(state.incidents.find((b) => b.id === 'INC-9').state, 'acknowledged');
  applyIncident({ event: 'resolved', incident: { id: 'INC-8', state: 'resolved', deadline: '2026-12-03T04:00:00Z' } });
  applyIncident({ event: 'merged', incident: { id: 'INC-9', state: 'merged' } });
  assert.deepEqual(state.incidents, []);
});

test('store: stale', () => {
  const now = Date.now();
  setUser(null);
  assert.equal(isStale(now), false, 'no banner without a user');
  setUser({ name: 'zhang', role: 'operator' });
  assert.ok(can('operator') && can('viewer') && !can('supervisor'));
  state.startedAt = now;
  state.failures = 0;
  setConn('connecting');
  assert.equal(isStale(now + 2000), false, 'the first connection has 3 s');
  assert.equal(isStale(now + 3500), true);
  setConn('open');
  state.openedAt = now;
  state.lastDataAt = now + 1000;
  assert.equal(isStale(now + 3900), false);
  assert.equal(isStale(now + 4100), true, 'no tick for more than 3 s');
  state.failures = 1;
  setConn('closed');
  assert.equal(isStale(now + 1100), true, 'down is stale at once');
  setConn('connecting');
  assert.equal(isStale(now + 1100), true, 'reconnecting after a failure is stale');
  setUser(null);
});

test('countdown', () => {
  const now = Date.parse('2026-12-03T01:00:00Z');
  const b = (deadline, st = 'open', breached = false) => ({ state: st, deadline, breached });
  assert.deepEqual(countdown(b('2026-12-03T02:00:00Z'), now), { text: '剩余 1:00:00', level: 'ok' });
  assert.deepEqual(countdown(b('2026-12-03T01:05:30Z'), now), { text: '剩余 05:30', level: 'soon' });
  assert.deepEqual(countdown(b('2026-12-03T00:58:00Z'), now), { text: '已超时 02:00', level: 'breached' });
  assert.deepEqual(countdown(b('2026-12-03T00:58:00Z', 'resolved', true), now), { text: '已超时', level: 'breached' });
  assert.deepEqual(countdown(b('2026-12-03T02:00:00Z', 'resolved'), now), { text: '', level: 'done' });
});

test('record words', () => {
  assert.deepEqual(figures({ rtt_p95_ms: 703, rtt_max_ms: 768, participants_down: 2, dropouts: 3, readings: { 'yz-media-1 cpu_pct': 97 }, errors: ['dial: refused'] }), [
    '往返时延 p95 703 毫秒（最大 768 毫秒）',
    '2 个参与者断开，掉线 3 次',
    'yz-media-1 cpu_pct 97.0',
    '错误：dial: refused',
  ]);
  assert.deepEqual(figures({}), []);
  assert.equal(handling({ state: 'resolved', resolved_at: '2026-12-03T01:00:00Z', handling_time_ms: 125000 }), '2 分 5 秒');
  assert.equal(handling({ state: 'open', handling_time_ms: 5000 }), '5 秒（仍在处理）');
  assert.equal(handling({ state: 'merged', merged_into: 'INC-1' }), '已合并到 INC-1，记录在那里继续');
});

test('safeNext', () => {
  assert.equal(safeNext('/incidents/INC-1'), '/incidents/INC-1');
  assert.equal(safeNext('/ack?i=1&s=2'), '/ack?i=1&s=2');
  assert.equal(safeNext('//evil.example/'), '/');
  assert.equal(safeNext('/\\evil.example'), '/');
  assert.equal(safeNext('https://evil.example/'), '/');
  assert.equal(safeNext('/login?next=/x'), '/');
  assert.equal(safeNext(null), '/');
});

test('series', () => {
  const pts = pointsOf([{ t: 1, rtt_ms: 5 }, { t: 2, rtt_ms: 6 }, null]);
  assert.equal(pts.length, 2);
  assert.deepEqual(pointsOf({ t: [1, 2], rtt: [5, 6] }).map((p) => p.rtt_ms), [5, 6]);
  assert.deepEqual(pointsOf(undefined), []);
  assert.ok(isVideo('yz/webrtc') && !isVideo('yz/ws'));
  const views = new Map([
    ['a', new Map([[1, { t: 1, rtt_ms: 5 }], [3, { t: 3, rtt_ms: 7 }]])],
    ['b', new Map([[2, { t: 2, rtt_ms: 9 }]])],
  ]);
  assert.deepEqual(align(views, ['a', 'b'], 'rtt_ms'), [[1, 2, 3], [5, null, 7], [null, 9, null]]);
});
