// /ack?i=&p=&e=&s=: where an alert's acknowledge link points. After login
// it shows the incident and asks "acknowledge as NAME?"; the confirm
// button posts the link to /api/ack and the result is shown.

import { h, link, replace, setText, setData } from '../dom.js';
import { t, word, lang } from '../i18n.js';
import { get, post, query, ApiError } from '../api.js';
import { state, on } from '../store.js';
import { dateTime } from '../fmt.js';
import { incidentRow, errorText, placeholder } from './common.js';

function ackError(e) {
  if (e instanceof ApiError && e.status === 400) return t('ack.bad');
  if (e instanceof ApiError && e.status === 409 && /used|已使用/i.test(e.message || '')) return t('ack.used');
  return errorText(e);
}

export function mount(root, params, q) {
  const link4 = { i: q.get('i') || '', p: q.get('p') || '', e: q.get('e') || '', s: q.get('s') || '' };
  const result = h('p', { class: 'ack-result', testid: 'ack-result', role: 'status', hidden: true });
  const box = h('div', { class: 'ack-box' }, placeholder(t('ov.loading')));
  root.append(h('section', { class: 'ack-page panel' }, h('h1', { text: t('ack.title') }), box, result));

  function say(text, ok) {
    setText(result, text);
    setData(result, 'ok', ok ? 'true' : 'false');
    result.classList.toggle('form-ok', ok);
    result.classList.toggle('form-error', !ok);
    result.hidden = false;
  }

  if (!link4.i || !link4.s) {
    box.replaceChildren();
    say(t('ack.missing'), false);
    return undefined;
  }

  let alive = true;
  const offs = [];
  get('/api/ack' + query(link4)).then((r) => {
    if (!alive) return;
    const u = state.user || {};
    const who = u.display || u.name || '';
    const parts = [];
    if (r.incident) {
      let row = incidentRow(r.incident);
      parts.push(row);
      // Room names come with the feed's hello.
      offs.push(on('overview', () => { const fresh = incidentRow(r.incident); row.replaceWith(fresh); row = fresh; }));
    }
    if (r.person || r.person_name) parts.push(h('p', { class: 'muted', text: t('ack.person', { person: r.person_name && r.person_name !== r.person ? `${r.person_name} (${r.person})` : r.person || r.person_name }) }));
    if (r.expires) parts.push(h('p', { class: 'muted', text: t('ack.expires', { time: dateTime(r.expires) }) }));
    if (r.can_ack === false) {
      replace(box, parts);
      const st = r.incident && r.incident.state;
      say(st && st !== 'open' ? t('err.409') + (lang() === 'zh' ? `（${word('inc', st)}）` : ` (${word('inc', st)})`) : t('err.403'), false);
      return;
    }
    const btn = h('button', { type: 'button', class: 'btn btn-primary btn-big', testid: 'ack-confirm', text: t('ack.confirm') });
    btn.addEventListener('click', async () => {
      btn.disabled = true;
      result.hidden = true;
      try {
        const d = await post('/api/ack', link4);
        const inc = (d && (d.incident || d.record)) || r.incident || { id: link4.i };
        btn.remove();
        say(t('ack.done', { id: inc.id }), true);
        result.append(' ', link('/incidents/' + encodeURIComponent(inc.id), { text: t('ack.open') }));
      } catch (e) {
        btn.disabled = false;
        say(ackError(e), false);
      }
    });
    parts.push(h('p', { class: 'ack-question', text: t('ack.question', { name: who }) }), btn);
    replace(box, parts);
  }).catch((e) => {
    if (!alive) return;
    box.replaceChildren();
    say(ackError(e), false);
  });
  return () => { alive = false; offs.forEach((f) => f()); };
}
