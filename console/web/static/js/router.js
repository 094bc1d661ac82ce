// Paths without a hash, with history.pushState. Each page module exports
// mount(root, params, query) and returns a cleanup function (or nothing).

const routes = [];
let current = null; // {cleanup}
let root = null;
let before = () => true;
let after = () => {};

/** Adds a route: pattern a RegExp whose groups are the params. */
export function route(name, pattern, page, opts = {}) {
  routes.push({ name, pattern, page, public: Boolean(opts.public), bare: Boolean(opts.bare) });
}

/** Finds the route of a path: {route, params} or null. */
export function match(path) {
  for (const r of routes) {
    const m = r.pattern.exec(path);
    if (m) return { route: r, params: m.slice(1).map(decodeURIComponent) };
  }
  return null;
}

/** Starts routing into el. guard(match) may redirect (return false);
 * done(match) runs after each page is mounted. */
export function start(el, guard, done) {
  root = el;
  before = guard || before;
  after = done || after;
  window.addEventListener('popstate', () => render());
  document.addEventListener('click', (ev) => {
    if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
    const a = ev.target.closest ? ev.target.closest('a[data-link]') : null;
    if (!a || a.target === '_blank' || a.hasAttribute('download')) return;
    const u = new URL(a.href, location.href);
    if (u.origin !== location.origin) return;
    ev.preventDefault();
    navigate(u.pathname + u.search + u.hash);
  });
  render();
}

/** Goes to an app path (pushState, or replaceState with {replace: true}). */
export function navigate(path, opts = {}) {
  if (opts.replace) history.replaceState(null, '', path);
  else if (path !== location.pathname + location.search + location.hash) history.pushState(null, '', path);
  render();
}

/** Draws the current page again (after a language switch). */
export function reload() { render(); }

/** The current path with its query: where to come back to after login. */
export function here() { return location.pathname + location.search; }

/** A safe place to go after login: an app path, never another site. */
export function safeNext(next) {
  if (typeof next !== 'string' || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
  if (next.startsWith('/login')) return '/';
  return next;
}

function render() {
  if (current && current.cleanup) {
    try { current.cleanup(); } catch (e) { console.error(e); }
  }
  current = null;
  const path = location.pathname.length > 1 ? location.pathname.replace(/\/+$/, '') : location.pathname;
  const m = match(path) || match('*');
  if (!m) return;
  if (!before(m)) return;
  root.replaceChildren();
  window.scrollTo(0, 0);
  const query = new URLSearchParams(location.search);
  let cleanup;
  try {
    cleanup = m.route.page(root, m.params, query);
  } catch (e) {
    console.error(e);
  }
  current = { cleanup: typeof cleanup === 'function' ? cleanup : null, match: m };
  after(m);
}

/** The route being shown. */
export function currentRoute() { return current ? current.match.route : null; }
