// The printable fault record (/incidents/ID/print): black on white, A4
// (print.css), the record as a table and the signature block the contract
// asks for: 运维单位签字 / 交易中心签字认可 / 日期.

import { h, link, replace, setText } from '../dom.js';
import { t } from '../i18n.js';
import { get, incidentPath } from '../api.js';
import { state, on } from '../store.js';
import { dateTime } from '../fmt.js';
import { errorText, placeholder } from './common.js';
import { recordTable } from './record.js';

export function mount(root, [id]) {
  document.body.classList.add('print-page');
  const status = placeholder(t('ov.loading'));
  const city = h('p', { class: 'print-city' });
  const sheet = h('article', { class: 'print-sheet', testid: 'print-record', hidden: true });
  root.append(h('div', { class: 'print-wrap' },
    h('div', { class: 'print-toolbar no-print' },
      link('/incidents/' + encodeURIComponent(id), { class: 'btn btn-ghost', text: '← ' + t('print.back') }),
      h('button', { type: 'button', class: 'btn btn-primary', testid: 'print-now', text: t('print.print'), onclick: () => window.print() })),
    status, sheet));

  let table = null;
  const paintCity = () => {
    setText(city, state.city.name || '');
    // Room and sub-center names come with the feed's hello.
    if (table && rec) {
      const fresh = recordTable(rec);
      table.replaceWith(fresh);
      table = fresh;
    }
  };
  let alive = true;
  let rec = null;
  get(incidentPath(id)).then((d) => {
    if (!alive) return;
    rec = { ...(d.incident || {}), ...(d.record || {}) };
    status.remove();
    sheet.hidden = false;
    sheet.dataset.state = rec.state || '';
    table = recordTable(rec);
    paintCity();
    replace(sheet,
      h('header', { class: 'print-head' },
        city,
        h('h1', {}, t('print.title'), ' ', h('span', { class: 'print-id', text: rec.id || id }))),
      table,
      h('table', { class: 'signatures' }, h('tbody', {},
        h('tr', {},
          h('th', { scope: 'row', text: t('print.sig.ops') }), h('td', { class: 'sig-line' }),
          h('th', { scope: 'row', text: t('print.sig.date') }), h('td', { class: 'sig-date' })),
        h('tr', {},
          h('th', { scope: 'row', text: t('print.sig.center') }), h('td', { class: 'sig-line' }),
          h('th', { scope: 'row', text: t('print.sig.date') }), h('td', { class: 'sig-date' })))),
      h('footer', { class: 'print-foot', text: t('print.generated', { time: dateTime(new Date()) }) }));
  }).catch((e) => {
    if (!alive) return;
    setText(status, e.status === 404 ? t('det.notfound') : errorText(e));
    status.classList.add('placeholder-error');
  });
  const off = on('overview', paintCity);
  return () => {
    alive = false;
    off();
    document.body.classList.remove('print-page');
  };
}
