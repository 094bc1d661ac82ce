// The fault record (故障记录) as a table, in the contract's order: time,
// place, phenomenon with figures, cause, handling process, result, handling
// time, sign-off. The detail page and the printable view share it.

import { h } from '../dom.js';
import { t, word, lang } from '../i18n.js';
import { dateTime, duration, list, num } from '../fmt.js';
import { roomName, subCenterName } from './common.js';

/** The phenomenon's figures in words, one string each. */
export function figures(ph) {
  const out = [];
  if (!ph) return out;
  if (ph.rtt_p95_ms > 0) out.push(t('fig.rtt', { p95: num(ph.rtt_p95_ms), max: num(ph.rtt_max_ms) }));
  if (ph.stutter_pct > 0) out.push(t('fig.stutter', { pct: num(ph.stutter_pct, 1), s: num((ph.freeze_ms || 0) / 1000, 1) }));
  if (ph.participants_down > 0) out.push(t('fig.down', { down: ph.participants_down, drop: ph.dropouts || 0 }));
  else if (ph.dropouts > 0) out.push(t('fig.dropouts', { drop: ph.dropouts }));
  if (ph.outage_ms > 0) out.push(t('fig.outage', { s: num(ph.outage_ms / 1000, 1) }));
  if (ph.health_failures > 0) out.push(t('fig.health', { n: ph.health_failures }));
  for (const k of Object.keys(ph.readings || {}).sort()) out.push(`${k} ${num(ph.readings[k], 1)}`);
  if (ph.errors && ph.errors.length) out.push(t('fig.errors', { list: ph.errors.join('; ') }));
  return out;
}

/** The handling time in words, "so far" while unresolved. */
export function handling(rec) {
  if (rec.state === 'merged') return t('det.merged_into', { id: rec.merged_into || '' });
  const d = duration(rec.handling_time_ms ?? (rec.handling_ns !== undefined ? rec.handling_ns / 1e6 : undefined));
  return rec.resolved_at ? d : t('det.handling.sofar', { d });
}

function times(rec) {
  const rows = [
    ['det.detected', rec.detected_at],
    ['det.opened', rec.opened_at],
    ['det.acknowledged', rec.acknowledged_at],
    ['det.mitigated', rec.mitigated_at],
    ['det.resolved', rec.resolved_at],
  ].filter(([, v]) => v);
  return h('ul', { class: 'plain' }, rows.map(([k, v]) => h('li', {}, h('span', { class: 'muted', text: t(k) + ' ' }), dateTime(v))));
}

function place(p) {
  p = p || {};
  const rows = [
    ['det.subcenters', (p.sub_centers || []).map(subCenterName)],
    ['det.rooms', (p.rooms || []).map((r) => (roomName(r) === r ? r : `${roomName(r)} (${r})`))],
    ['det.servers', p.servers || []],
    ['det.locations', p.locations || []],
  ].filter(([, v]) => v.length);
  if (!rows.length) return '—';
  return h('ul', { class: 'plain' }, rows.map(([k, v]) => h('li', {}, h('span', { class: 'muted', text: t(k) + ' ' }), list(v))));
}

function timeline(entries) {
  if (!entries || !entries.length) return '—';
  return h('table', { class: 'timeline' }, h('tbody', {}, entries.map((e) => h('tr', { data: { kind: e.kind } },
    h('td', { class: 'tl-time', text: dateTime(e.at) }),
    h('td', { class: 'tl-actor', text: e.actor || '' }),
    h('td', { class: 'tl-kind', text: word('tl', e.kind) }),
    h('td', { class: 'tl-text' }, e.text || '', e.from ? h('span', { class: 'muted', text: ` [${e.from}]` }) : null)))));
}

/** The record's rows: [label key, content, testid]. */
export function recordRows(rec) {
  const ph = rec.phenomenon || {};
  const figs = figures(ph);
  const sep = lang() === 'zh' ? '；' : '; ';
  const cls = [word('class', rec.class), rec.class_rule ? `(${rec.class_rule})` : '', rec.severity ? `· ${t('det.severity')} ${word('sev', rec.severity)}` : ''].filter(Boolean).join(' ');
  let deadline = dateTime(rec.deadline);
  if (rec.breached) deadline += ` · ${t('sla.breached')}`;
  const rows = [
    ['col.id', rec.id, 'rec-id'],
    ['col.state', word('inc', rec.state), 'rec-state'],
    ['det.class', cls, 'rec-class'],
    ['det.deadline', deadline, 'rec-deadline'],
    ['det.time', times(rec), 'rec-time'],
    ['det.place', place(rec.place), 'rec-place'],
    ['det.phenomenon', h('div', {}, h('div', { text: ph.summary || '—' }), figs.length ? h('div', { class: 'figures', text: figs.join(sep) }) : null), 'rec-phenomenon'],
    ['det.cause', h('div', {}, h('strong', { text: `${word('cause', rec.cause)} ${rec.subject || ''}` }), rec.cause_text ? h('div', { class: 'cause-text', text: rec.cause_text }) : null), 'rec-cause'],
    ['det.timeline', timeline(rec.timeline), 'rec-timeline'],
    ['det.result', rec.result || '—', 'rec-result'],
    ['det.handling', handling(rec), 'rec-handling'],
  ];
  if (rec.signed_off_at) rows.push(['det.signoff', t('det.signedby', { time: dateTime(rec.signed_off_at), who: rec.signed_off_by || '' }), 'rec-signoff']);
  const notes = [];
  if (rec.merged_into) notes.push(t('det.merged_into', { id: rec.merged_into }));
  if (rec.merged_from && rec.merged_from.length) notes.push(t('det.merged_from', { ids: rec.merged_from.join(', ') }));
  if (rec.paging === false && rec.muted_by) notes.push(t('det.muted', { w: rec.muted_by }));
  if (rec.reopens) notes.push(t('det.reopens', { n: rec.reopens }));
  if (notes.length) rows.splice(2, 0, ['det.notes', notes.join(sep), 'rec-notes']);
  return rows;
}

/** The record as a two-column table. */
export function recordTable(rec) {
  return h('table', { class: 'record' }, h('tbody', {}, recordRows(rec).map(([k, v, id]) => h('tr', { data: { field: id } },
    h('th', { scope: 'row', text: t(k) }),
    h('td', {}, v)))));
}
