// The login page: name, password, the error in plain words. After login
// the user goes where they were going (?next=).

import { h, setText } from '../dom.js';
import { t, lang, setLang } from '../i18n.js';
import { post, setCSRF, ApiError } from '../api.js';
import { setUser, setCity } from '../store.js';
import { navigate, safeNext } from '../router.js';
import { start as startLive } from '../live.js';

export function mount(root, params, query) {
  const next = safeNext(query.get('next') || sessionStorage.getItem('bidwatch.next') || '/');
  const name = h('input', { id: 'login-name', name: 'name', type: 'text', autocomplete: 'username', required: true, testid: 'login-name', autofocus: true, autocapitalize: 'none', spellcheck: 'false' });
  const password = h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true, testid: 'login-password' });
  const error = h('p', { class: 'form-error', testid: 'login-error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', testid: 'login-submit', text: t('login.submit') });
  let countdown = null;

  function showError(msg) {
    setText(error, msg);
    error.hidden = false;
  }

  function tooMany(sec) {
    clearInterval(countdown);
    let left = Math.max(1, sec || 60);
    submit.disabled = true;
    showError(t('login.toomany', { n: left }));
    countdown = setInterval(() => {
      left--;
      if (left <= 0) {
        clearInterval(countdown);
        submit.disabled = false;
        error.hidden = true;
        return;
      }
      showError(t('login.toomany', { n: left }));
    }, 1000);
  }

  async function onSubmit(ev) {
    ev.preventDefault();
    if (submit.disabled) return;
    error.hidden = true;
    submit.disabled = true;
    setText(submit, t('login.busy'));
    try {
      const res = await post('/api/login', { name: name.value.trim(), password: password.value }, { noRedirect: true });
      setCSRF(res && res.csrf);
      setUser(res && res.user ? res.user : { name: name.value.trim(), role: 'viewer' });
      if (res && res.city) setCity(res.city);
      try { sessionStorage.removeItem('bidwatch.next'); } catch (e) { /* fine */ }
      if (/^\/reports\/[^/]+$/.test(next)) {
        // A delivered report (the link in a chat message) is the server's
        // page, not the app's: load it.
        location.replace(next);
        return;
      }
      startLive();
      navigate(next, { replace: true });
      return;
    } catch (e) {
      password.value = '';
      if (e instanceof ApiError && e.status === 429) {
        setText(submit, t('login.submit'));
        tooMany(e.retryAfter);
        return;
      }
      if (e instanceof ApiError && e.status === 401) showError(t('login.wrong'));
      else if (e instanceof ApiError && e.status === 0) showError(t('err.net'));
      else showError(t('login.failed', { msg: e.message }));
      password.focus();
    }
    submit.disabled = false;
    setText(submit, t('login.submit'));
  }

  const form = h('form', { class: 'login-form', onsubmit: onSubmit, novalidate: false },
    h('button', { type: 'button', class: 'btn btn-ghost login-lang', testid: 'login-lang', text: t('header.lang'), title: t('header.lang.title'), onclick: () => setLang(lang() === 'zh' ? 'en' : 'zh') }),
    h('div', { class: 'login-brand' }, h('span', { class: 'logo logo-big', 'aria-hidden': 'true' }), h('h1', { text: 'bidwatch' })),
    h('p', { class: 'muted', text: t('login.hint') }),
    h('label', { for: 'login-name', text: t('login.name') }), name,
    h('label', { for: 'login-password', text: t('login.password') }), password,
    error,
    submit,
  );
  root.append(h('section', { class: 'login-page' }, form));
  name.focus();
  return () => clearInterval(countdown);
}
