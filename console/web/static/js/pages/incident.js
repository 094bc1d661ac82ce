// One incident: the fault record, its SLA countdown, and the actions the
// signed-in user may take on it now (the API's "allowed"), each refusal
// said plainly.

import { h, link, replace, setText, setData } from '../dom.js';
import { t, word } from '../i18n.js';
import { get, post, incidentPath } from '../api.js';
import { on } from '../store.js';
import { chip, countdown, errorText, placeholder } from './common.js';
import { recordTable } from './record.js';

const CLASSES = ['minor', 'partial', 'outage', 'major'];

// The actions in the order they are shown, with the body each posts.
const ACTIONS = [
  { name: 'ack', label: 'act.ack', primary: true },
  { name: 'mitigate', label: 'act.mitigate' },
  { name: 'resolve', label: 'act.resolve', primary: true },
  { name: 'note', label: 'act.note', needsText: true },
  { name: 'signoff', label: 'act.signoff', primary: true },
];

export function mount(root, [id]) {
  const status = placeholder(t('ov.loading'));
  const title = h('h1', { class: 'det-title' });
  const cd = h('span', { class: 'countdown countdown-big', testid: 'sla-countdown' });
  const record = h('div', { class: 'det-record' });
  const text = h('textarea', { class: 'act-text', testid: 'act-text', rows: 3, placeholder: t('det.text.ph'), 'aria-label': t('det.text') });
  const classSel = h('select', { testid: 'action-class', 'aria-label': t('act.class.label') }, CLASSES.map((c) => h('option', { value: c, text: word('class', c) })));
  const buttons = h('div', { class: 'act-buttons' });
  const classRow = h('div', { class: 'act-class-row' });
  const error = h('p', { class: 'form-error', testid: 'act-error', role: 'alert', hidden: true });
  const done = h('p', { class: 'form-ok', testid: 'action-done', role: 'status', hidden: true });
  const actions = h('section', { class: 'panel det-actions', hidden: true },
    h('h2', { text: t('det.actions') }),
    h('label', { class: 'act-text-label', text: t('det.text') }), text,
    buttons, classRow, error, done);
  const detail = h('article', { class: 'det', testid: 'incident-detail', hidden: true },
    h('div', { class: 'det-head' }, title, cd),
    h('div', { class: 'det-grid' },
      h('section', { class: 'panel' },
        h('div', { class: 'panel-head' },
          h('h2', { text: t('det.record') }),
          link('/incidents/' + encodeURIComponent(id) + '/print', { class: 'btn btn-ghost', testid: 'print-record', text: t('det.print') })),
        record),
      actions));
  root.append(h('div', { class: 'det-page' }, link('/incidents', { class: 'back', text: '← ' + t('det.back') }), status, detail));

  let current = null;
  let alive = true;
  let busy = false;

  function render(d) {
    current = d;
    const inc = d.incident || d.record;
    const rec = { ...inc, ...(d.record || {}) };
    status.hidden = true;
    detail.hidden = false;
    setData(detail, 'state', inc.state);
    setData(detail, 'id', inc.id);
    replace(title, h('span', { text: inc.id }), ' ', chip('inc', inc.state), ' ', chip('class', inc.class),
      h('span', { class: 'det-summary', text: inc.phenomenon && inc.phenomenon.summary ? inc.phenomenon.summary : '' }));
    replace(record, recordTable(rec));
    paintCountdown();
    const allowed = new Set(d.allowed || []);
    replace(buttons, ACTIONS.filter((a) => allowed.has(a.name)).map((a) => h('button', {
      type: 'button', class: ['btn', a.primary ? 'btn-primary' : 'btn-secondary'], testid: 'act-' + a.name, text: t(a.label),
      onclick: () => act(a),
    })));
    if (allowed.has('class')) {
      if (document.activeElement !== classSel) classSel.value = CLASSES.find((c) => c !== inc.class) || 'minor';
      replace(classRow, h('label', { class: 'inline', text: t('act.class.label') }), classSel,
        h('button', { type: 'button', class: 'btn btn-secondary', testid: 'act-class', text: t('act.class'), onclick: () => act({ name: 'class', label: 'act.class' }) }));
    } else {
      classRow.replaceChildren();
    }
    actions.hidden = allowed.size === 0;
    text.hidden = allowed.size === 0 || (allowed.size === 1 && allowed.has('class'));
  }

  function paintCountdown() {
    if (!current) return;
    const inc = current.incident || current.record;
    const c = countdown(inc);
    setText(cd, c.text ? `${t('sla.deadline')} ${c.text}` : '');
    setData(cd, 'level', c.level);
  }

  async function act(a) {
    if (busy) return;
    error.hidden = true;
    done.hidden = true;
    const words = text.value.trim();
    if (a.needsText && !words) {
      setText(error, t('act.note.empty'));
      error.hidden = false;
      text.focus();
      return;
    }
    busy = true;
    for (const b of root.querySelectorAll('.det-actions button')) b.disabled = true;
    try {
      const body = a.name === 'class' ? { class: classSel.value, text: words } : { text: words };
      const d = await post(incidentPath(id, a.name), body);
      if (!alive) return;
      text.value = '';
      if (d && (d.incident || d.record)) {
        if (!d.allowed) Object.assign(d, await get(incidentPath(id)));
        render(d);
      } else {
        render(await get(incidentPath(id)));
      }
      setText(done, t('det.done', { what: t(a.label) }));
      done.hidden = false;
    } catch (e) {
      if (!alive) return;
      setText(error, errorText(e));
      error.hidden = false;
    } finally {
      busy = false;
      for (const b of root.querySelectorAll('.det-actions button')) b.disabled = false;
    }
  }

  function load() {
    return get(incidentPath(id)).then((d) => { if (alive) render(d); }).catch((e) => {
      if (!alive) return;
      setText(status, e.status === 404 ? t('det.notfound') : errorText(e));
      status.classList.add('placeholder-error');
      status.hidden = false;
    });
  }
  load();

  let reloadTimer = null;
  const offs = [
    // Room and sub-center names come with the feed's hello.
    on('overview', () => { if (current) replace(record, recordTable({ ...(current.incident || current.record), ...(current.record || {}) })); }),
    on('incidents', (m) => {
      // Someone else changed it: show the record as it is now (the text
      // being typed stays).
      if (!m || !m.incident || m.incident.id !== id || busy) return;
      clearTimeout(reloadTimer);
      reloadTimer = setTimeout(load, 300);
    }),
  ];
  const timer = setInterval(paintCountdown, 1000);
  return () => {
    alive = false;
    offs.forEach((f) => f());
    clearInterval(timer);
    clearTimeout(reloadTimer);
  };
}
