// The incident list: filters (class, state, sub-center, period) kept in the
// URL's query so a filtered list can be shared, links to export the same
// records as CSV or JSON, and one row per incident (newest first).

import { h, link, replace, setText } from '../dom.js';
import { t, word } from '../i18n.js';
import { get, query } from '../api.js';
import { state, on } from '../store.js';
import { navigate } from '../router.js';
import { shortDateTime, duration } from '../fmt.js';
import { chip, countdown, errorText, placeholder, placeOf } from './common.js';

const CLASSES = ['minor', 'partial', 'outage', 'major'];
const STATES = ['open', 'acknowledged', 'mitigated', 'resolved', 'signed_off', 'merged'];
const ACTIVE = 'open,acknowledged,mitigated';
const FIELDS = ['class', 'state', 'sub_center', 'from', 'to'];

export function mount(root, params, q) {
  const filter = {};
  for (const k of FIELDS) filter[k] = q.get(k) || '';

  const select = (name, label, options) => {
    const el = h('select', { name, id: 'f-' + name, testid: 'filter-' + name.replace('_', '-') },
      h('option', { value: '', text: t('list.filter.all') }),
      options.map(([v, text]) => h('option', { value: v, text })));
    el.value = filter[name];
    return [h('label', { for: 'f-' + name, text: label }), el];
  };
  const dateInput = (name, label) => {
    const el = h('input', { type: 'date', name, id: 'f-' + name, testid: 'filter-' + name, value: filter[name] });
    return [h('label', { for: 'f-' + name, text: label }), el];
  };
  const subCenters = state.subCenters.map((sc) => [sc.id, sc.name || sc.id]);
  if (filter.sub_center && !subCenters.some(([v]) => v === filter.sub_center)) subCenters.push([filter.sub_center, filter.sub_center]);
  const stateOpts = [[ACTIVE, `${word('inc', 'open')} / ${word('inc', 'acknowledged')} / ${word('inc', 'mitigated')}`], ...STATES.map((s) => [s, word('inc', s)])];

  const form = h('form', { class: 'filters', testid: 'incident-filters', onsubmit: (ev) => {
    ev.preventDefault();
    const fd = new FormData(form);
    const next = {};
    for (const k of FIELDS) next[k] = (fd.get(k) || '').toString();
    navigate('/incidents' + query(next));
  } },
  h('div', { class: 'field' }, select('class', t('list.filter.class'), CLASSES.map((c) => [c, word('class', c)]))),
  h('div', { class: 'field' }, select('state', t('list.filter.state'), stateOpts)),
  h('div', { class: 'field' }, select('sub_center', t('list.filter.subcenter'), subCenters)),
  h('div', { class: 'field' }, dateInput('from', t('list.filter.from'))),
  h('div', { class: 'field' }, dateInput('to', t('list.filter.to'))),
  h('div', { class: 'field field-buttons' },
    h('button', { type: 'submit', class: 'btn btn-primary', testid: 'filter-apply', text: t('list.filter.apply') }),
    link('/incidents', { class: 'btn btn-ghost', text: t('list.filter.reset') })));

  const exp = (format) => h('a', { class: 'btn btn-secondary', href: '/api/incidents/export' + query({ format, ...filter }), download: '', testid: 'export-' + format, text: t('list.export.' + format) });
  const count = h('span', { class: 'muted' });
  const table = h('div', { class: 'table-wrap' }, placeholder(t('ov.loading')));
  root.append(h('div', { class: 'list-page' },
    h('div', { class: 'page-head' }, h('h1', { text: t('list.title') }), count, h('div', { class: 'spacer' }), exp('csv'), exp('json')),
    form, table));

  let alive = true;
  let rows = [];
  let last = null;

  function paint(list) {
    last = list;
    setText(count, t('list.count', { n: list.length }));
    if (!list.length) {
      replace(table, placeholder(t('list.empty')));
      rows = [];
      return;
    }
    const body = h('tbody');
    rows = list.map((b) => {
      const cd = h('span', { class: 'countdown' });
      const c = countdown(b);
      setText(cd, c.text);
      cd.dataset.level = c.level;
      const tr = h('tr', { class: 'inc-tr', testid: 'incident-row', data: { id: b.id, state: b.state, class: b.class }, onclick: (ev) => {
        if (ev.target.closest('a')) return;
        navigate('/incidents/' + encodeURIComponent(b.id));
      } },
      h('td', { class: 'nowrap' }, link('/incidents/' + encodeURIComponent(b.id), { class: 'inc-id', text: b.id })),
      h('td', {}, chip('inc', b.state)),
      h('td', {}, chip('class', b.class)),
      h('td', { text: `${word('cause', b.cause)} ${b.subject || ''}` }),
      h('td', { class: 'place-cell', text: placeOf(b) }),
      h('td', { class: 'summary-cell', text: b.summary || '' }),
      h('td', { class: 'nowrap', text: shortDateTime(b.opened_at) }),
      h('td', { class: 'nowrap' }, shortDateTime(b.deadline), ' ', cd),
      h('td', { class: 'nowrap num', text: duration(b.handling_s !== undefined ? b.handling_s * 1000 : b.handling_ns / 1e6) }));
      tr._brief = b;
      tr._cd = cd;
      body.append(tr);
      return tr;
    });
    replace(table, h('table', { class: 'table table-incidents' },
      h('thead', {}, h('tr', {}, ['col.id', 'col.state', 'col.class', 'col.cause', 'col.place', 'col.summary', 'col.opened', 'col.deadline', 'col.handling'].map((k) => h('th', { text: t(k) })))),
      body));
  }

  function load() {
    get('/api/incidents' + query({ ...filter, limit: 500 })).then((r) => {
      if (alive) paint((r && r.incidents) || []);
    }).catch((e) => {
      if (!alive) return;
      replace(table, placeholder(errorText(e), 'placeholder-error'));
    });
  }
  load();

  let reloadTimer = null;
  // Sub-centers come with the feed's hello: fill the filter when it arrives.
  const scSel = form.querySelector('select[name=sub_center]');
  const fillSubCenters = () => {
    const have = new Set([...scSel.options].map((o) => o.value));
    for (const sc of state.subCenters) {
      if (!have.has(sc.id)) scSel.append(h('option', { value: sc.id, text: sc.name || sc.id }));
    }
    scSel.value = filter.sub_center;
  };
  const offs = [on('overview', () => { fillSubCenters(); if (last) paint(last); }), on('incidents', (m) => {
    if (!m || !m.incident) return; // the tick's list: nothing new
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(load, 1000);
  })];
  const timer = setInterval(() => {
    for (const tr of rows) {
      const c = countdown(tr._brief);
      setText(tr._cd, c.text);
      tr._cd.dataset.level = c.level;
    }
  }, 1000);
  return () => {
    alive = false;
    offs.forEach((f) => f());
    clearInterval(timer);
    clearTimeout(reloadTimer);
  };
}
