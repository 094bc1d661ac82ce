// Formatting of times, durations and figures, in the browser's time zone
// (the trading center's).

import { t, lang } from './i18n.js';

const pad = (n) => String(n).padStart(2, '0');

/** A time from the API: RFC 3339 text, Unix seconds, or a Date; null if none. */
export function toDate(v) {
  if (v === undefined || v === null || v === '') return null;
  if (v instanceof Date) return v;
  if (typeof v === 'number') return new Date(v * 1000);
  const d = new Date(v);
  if (isNaN(d.getTime()) || d.getUTCFullYear() <= 1) return null; // Go's zero time
  return d;
}

/** HH:MM:SS. */
export function hms(v) {
  const d = toDate(v);
  return d ? `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` : '—';
}

/** HH:MM. */
export function hm(v) {
  const d = toDate(v);
  return d ? `${pad(d.getHours())}:${pad(d.getMinutes())}` : '—';
}

/** YYYY-MM-DD. */
export function ymd(v) {
  const d = toDate(v);
  return d ? `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` : '—';
}

/** YYYY-MM-DD HH:MM:SS. */
export function dateTime(v) {
  const d = toDate(v);
  return d ? `${ymd(d)} ${hms(d)}` : '—';
}

/** MM-DD HH:MM, or HH:MM for today. */
export function shortDateTime(v, now = new Date()) {
  const d = toDate(v);
  if (!d) return '—';
  if (ymd(d) === ymd(now)) return hm(d);
  return `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hm(d)}`;
}

/** mm:ss of a number of seconds (its absolute value); h:mm:ss past an hour. */
export function mmss(sec) {
  sec = Math.floor(Math.abs(sec));
  const h = Math.floor(sec / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = sec % 60;
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${pad(m)}:${pad(s)}`;
}

/** A duration in words: "1 小时 5 分", "3 分 20 秒". */
export function duration(ms) {
  if (ms === undefined || ms === null || isNaN(ms)) return '—';
  const sec = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(sec / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = sec % 60;
  if (h > 0) return t('dur.h', { h, m });
  if (m > 0) return t('dur.m', { m, s });
  return t('dur.s', { s });
}

/** "12 秒前" for a time, relative to nowMs. */
export function ago(v, nowMs) {
  const d = toDate(v);
  if (!d) return t('time.never');
  const s = Math.max(0, Math.round((nowMs - d.getTime()) / 1000));
  if (s < 120) return t('time.ago.s', { n: s });
  if (s < 7200) return t('time.ago.m', { n: Math.round(s / 60) });
  return t('time.ago.h', { n: Math.round(s / 3600) });
}

/** A figure with its unit, or — when there is none. */
export function num(v, digits = 0, unit = '') {
  if (v === undefined || v === null || isNaN(v)) return '—';
  const s = Number(v).toFixed(digits);
  return unit ? `${s} ${unit}` : s;
}

/** Milliseconds as the figures show them: "38 ms", "0.4 ms" under 10. */
export function ms(v) {
  if (v === undefined || v === null || isNaN(v)) return '—';
  const a = Math.abs(v);
  return `${a > 0 && a < 10 ? Number(v).toFixed(1) : Math.round(v)} ms`;
}

/** A list for people: "a, b, c" (or "a、b、c" in Chinese); — when empty. */
export function list(xs) {
  if (!xs || xs.length === 0) return '—';
  return xs.join(lang() === 'zh' ? '、' : ', ');
}
