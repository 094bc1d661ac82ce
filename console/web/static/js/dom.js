// Small DOM helpers. Data from the API only ever goes into textContent or
// attributes set one by one (never parsed as markup), so a room name or a note
// cannot inject markup.

/**
 * h('div', {class: 'tile', testid: 'tile', data: {room: id}, onclick: fn}, child…)
 * Props: class, text, testid, data (dataset), hidden, on<event> functions,
 * value/checked/disabled/selected (as properties); anything else is an
 * attribute (skipped when null, undefined or false). Children: nodes,
 * strings and numbers (as text), arrays; null and false are skipped.
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
      else if (k === 'text') el.textContent = String(v);
      else if (k === 'testid') el.dataset.testid = v;
      else if (k === 'data') { for (const [dk, dv] of Object.entries(v)) if (dv !== undefined && dv !== null) el.dataset[dk] = String(dv); }
      else if (k === 'hidden') el.hidden = Boolean(v);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'value' || k === 'checked' || k === 'disabled' || k === 'selected') el[k] = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/** Removes every child of el and appends children. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Sets el's text only when it changed (cheap on every tick). */
export function setText(el, s) {
  s = s === undefined || s === null ? '' : String(s);
  if (el.textContent !== s) el.textContent = s;
}

/** Sets a data attribute only when it changed. */
export function setData(el, k, v) {
  v = String(v);
  if (el.dataset[k] !== v) el.dataset[k] = v;
}

/** Adds cls to el when on, removes it otherwise. */
export function toggle(el, cls, on) {
  el.classList.toggle(cls, Boolean(on));
}

/** A link to an app path: a click navigates without reloading. */
export function link(href, props, ...children) {
  return h('a', { ...props, href, 'data-link': '' }, ...children);
}
