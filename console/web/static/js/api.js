// The console's HTTP API: same-origin fetch with the session cookie, the
// CSRF token on every POST, errors as ApiError with the status and the
// server's words. A 401 sends the user to the login page, remembering where
// they were going.

let csrf = '';
let onUnauthorized = () => {};

/** Keeps the session's CSRF token (from /api/me or the login answer). */
export function setCSRF(token) { csrf = token || ''; }

/** Sets what a 401 does (the router sends the user to /login). */
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

/** An API error: status 0 is a network failure. */
export class ApiError extends Error {
  constructor(status, message, retryAfter) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

async function request(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json' };
  const init = { method, credentials: 'same-origin', headers, cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers['X-CSRF-Token'] = csrf;
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, e && e.message ? e.message : 'network error');
  }
  let data = null;
  const text = await res.text();
  if (text) {
    try { data = JSON.parse(text); } catch (e) { data = { error: text.trim() }; }
  }
  if (!res.ok) {
    const ra = parseInt(res.headers.get('Retry-After') || '', 10);
    const err = new ApiError(res.status, data && data.error ? data.error : res.statusText, isNaN(ra) ? undefined : ra);
    if (res.status === 401 && !opts.noRedirect) onUnauthorized();
    throw err;
  }
  return data;
}

/** GET path; the parsed JSON answer. */
export function get(path, opts) { return request('GET', path, undefined, opts); }

/** POST body as JSON to path; the parsed JSON answer (null for 204). */
export function post(path, body, opts) { return request('POST', path, body === undefined ? {} : body, opts); }

/** A query string from an object, leaving out empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, v);
  }
  const s = q.toString();
  return s ? '?' + s : '';
}

/** The path of an incident's action: /api/incidents/ID/ACTION. */
export function incidentPath(id, action) {
  return '/api/incidents/' + encodeURIComponent(id) + (action ? '/' + action : '');
}
