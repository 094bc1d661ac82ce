// The Reports page (运维报告): choose a period (day … year of the report
// time zone, or a range of days) and a scope (the city, a sub-center, a
// room); the headline figures show here, from GET /api/reports/build
// ?format=json, with links to the same report as printable HTML (a new
// tab: print it to A4 from there), CSV and JSON. The choices live in the
// URL's query, so a report can be shared as a link.

import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { get, query } from '../api.js';
import { navigate } from '../router.js';
import { errorText, placeholder } from './common.js';

const FIELDS = ['period', 'at', 'from', 'to', 'scope'];

function pct(v) { return v === null || v === undefined ? '—' : (v * 100).toFixed(2) + ' %'; }
function ms(v) { return v === null || v === undefined ? '—' : Math.round(v) + ' ms'; }
function mins(v) { return v === null || v === undefined ? '—' : (v / 60).toFixed(1) + ' min'; }

export function mount(root, params, q) {
  const sel = {};
  for (const k of FIELDS) sel[k] = q.get(k) || '';
  if (!sel.period && !sel.from) sel.period = 'month';
  const range = Boolean(sel.from || sel.to);

  const kind = h('select', { id: 'r-period', name: 'period', testid: 'report-period' });
  const at = h('input', { type: 'date', id: 'r-at', name: 'at', testid: 'report-at', value: sel.at });
  const from = h('input', { type: 'date', id: 'r-from', name: 'from', testid: 'report-from', value: sel.from });
  const to = h('input', { type: 'date', id: 'r-to', name: 'to', testid: 'report-to', value: sel.to });
  const scope = h('select', { id: 'r-scope', name: 'scope', testid: 'report-scope' });
  const atField = h('div', { class: 'field' }, h('label', { for: 'r-at', text: t('rep.at') }), at);
  const fromField = h('div', { class: 'field' }, h('label', { for: 'r-from', text: t('rep.from') }), from);
  const toField = h('div', { class: 'field' }, h('label', { for: 'r-to', text: t('rep.to') }), to);
  const showRange = () => {
    const r = kind.value === 'range';
    atField.hidden = r;
    fromField.hidden = !r;
    toField.hidden = !r;
  };
  kind.addEventListener('change', showRange);

  const form = h('form', { class: 'filters', testid: 'report-form', onsubmit: (ev) => {
    ev.preventDefault();
    const next = kind.value === 'range'
      ? { from: from.value, to: to.value, scope: scope.value }
      : { period: kind.value, at: at.value, scope: scope.value };
    navigate('/reports' + query(next));
  } },
  h('div', { class: 'field' }, h('label', { for: 'r-period', text: t('rep.period') }), kind),
  atField, fromField, toField,
  h('div', { class: 'field' }, h('label', { for: 'r-scope', text: t('rep.scope') }), scope),
  h('div', { class: 'field field-buttons' },
    h('button', { type: 'submit', class: 'btn btn-primary', testid: 'report-make', text: t('rep.make') })));

  const body = h('div', { class: 'report-body', testid: 'report-body' }, placeholder(t('ov.loading')));
  const delivered = h('ul', { class: 'report-files', testid: 'report-files' });
  root.append(h('div', { class: 'reports-page' },
    h('div', { class: 'page-head' }, h('h1', { text: t('rep.title') })),
    form, body,
    h('h2', { text: t('rep.delivered') }), delivered));

  get('/api/reports/files').then((files) => {
    if (!alive) return;
    if (!files || files.length === 0) {
      replace(delivered, h('li', { class: 'muted', text: t('rep.delivered.none') }));
      return;
    }
    replace(delivered, files.map((f) => h('li', {}, h('a', { href: f.url, target: '_blank', rel: 'noopener', testid: 'report-file', text: f.id }))));
  }).catch(() => { if (alive) replace(delivered, h('li', { class: 'muted', text: t('rep.delivered.none') })); });

  let alive = true;
  get('/api/reports/options').then((o) => {
    if (!alive) return;
    replace(kind, [...o.kinds.map((k) => h('option', { value: k, text: t('rep.kind.' + k) })), h('option', { value: 'range', text: t('rep.kind.range') })]);
    kind.value = range ? 'range' : sel.period;
    replace(scope, o.scopes.map((s) => h('option', { value: s.id, text: s.name })));
    scope.value = sel.scope || 'city';
    if (!at.value) at.value = o.today;
    showRange();
    load();
  }).catch((e) => { if (alive) replace(body, placeholder(errorText(e), 'placeholder-error')); });

  function current() {
    return range ? { from: sel.from, to: sel.to, scope: sel.scope } : { period: sel.period, at: sel.at, scope: sel.scope };
  }

  async function load() {
    const qs = current();
    replace(body, placeholder(t('rep.building')));
    let rep;
    try {
      rep = await get('/api/reports/build' + query({ ...qs, format: 'json' }));
    } catch (e) {
      if (alive) replace(body, h('p', { class: 'placeholder placeholder-error', testid: 'report-error', text: errorText(e) }));
      return;
    }
    if (!alive) return;
    const link = (format, text, extra) => h('a', { class: 'btn ' + (format === 'html' ? 'btn-primary' : 'btn-secondary'), href: '/api/reports/build' + query({ ...qs, format }), testid: 'report-' + format, text, ...extra });
    const s = rep.summary || {};
    const kpi = (label, value, id) => h('div', { class: 'kpi', testid: 'kpi-' + id }, h('span', { class: 'kpi-label', text: label }), h('b', { text: value }));
    const parts = [
      h('h2', { testid: 'report-title', text: rep.title }),
      rep.notice ? h('p', { class: 'notice', testid: 'report-notice', text: rep.notice }) : null,
      h('div', { class: 'report-links' },
        link('html', t('rep.open'), { target: '_blank', rel: 'noopener' }),
        link('csv', t('rep.csv'), { download: '' }),
        link('json', t('rep.json'), { download: '' })),
    ];
    if (!rep.empty) {
      parts.push(h('div', { class: 'kpis' },
        kpi(t('rep.k.availability'), pct(s.availability), 'availability'),
        kpi(t('rep.k.good'), pct(s.good_share), 'good'),
        kpi(t('rep.k.p95'), ms(s.rtt_p95_ms), 'p95'),
        kpi(t('rep.k.sessions'), String(s.sessions || 0), 'sessions'),
        kpi(t('rep.k.incidents'), String(s.incidents || 0), 'incidents'),
        kpi(t('rep.k.compliance'), pct(s.sla_compliance), 'compliance'),
        kpi(t('rep.k.mtta'), mins(s.mtta_s), 'mtta'),
        kpi(t('rep.k.mttr'), mins(s.mttr_s), 'mttr')));
      if (rep.evidence && rep.evidence.head) {
        const hd = rep.evidence.head;
        parts.push(h('p', { class: 'muted', testid: 'report-evidence', text: t('rep.evidence', { n: hd.n, hash: String(hd.hash || '').slice(0, 16) }) + (hd.signature ? ' · ' + t('rep.signed', { key: hd.key_id }) : '') }));
      }
    }
    replace(body, parts);
  }

  return () => { alive = false; };
}
