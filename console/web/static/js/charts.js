// Charts: uPlot sparklines for the overview's tiles and time-series panels
// for the room page, in the dark theme's colours.

import uPlot from '../vendor/uplot/uPlot.esm.js';

/** Series colours, told apart on a dark background and by most colour-blind eyes. */
export const PALETTE = ['#56b4e9', '#e69f00', '#2fd3a0', '#f0e442', '#cc79a7', '#7aa9ff', '#ff7f50', '#e6e6e6'];

const AXIS = '#9aa7b4';

const pad = (n) => String(n).padStart(2, '0');

// clock is a Unix second as HH:MM (HH:MM:SS when the splits are less than a
// minute apart, or for one value), in the browser's time zone, 24-hour.
function clock(v, splits) {
  const d = new Date(v * 1000);
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  const fine = !splits || (splits.length > 1 && splits[1] - splits[0] < 60);
  return fine ? `${hm}:${pad(d.getSeconds())}` : hm;
}
const GRID = 'rgba(255,255,255,0.08)';

function sizeOf(el, fallbackH) {
  const r = el.getBoundingClientRect();
  return { width: Math.max(40, Math.floor(r.width) || 120), height: Math.max(16, Math.floor(r.height) || fallbackH) };
}

// observe keeps u as wide as el; its height is el's (a sparkline's box has
// a fixed height in the CSS) or fixedH (a panel, whose box grows with its
// legend).
function observe(el, u, fallbackH, fixedH) {
  if (typeof ResizeObserver === 'undefined') return () => {};
  let last = '';
  const ro = new ResizeObserver(() => {
    const s = sizeOf(el, fallbackH);
    if (fixedH) s.height = fixedH;
    const k = s.width + 'x' + s.height;
    if (k !== last) {
      last = k;
      u.setSize(s);
    }
  });
  ro.observe(el);
  return () => ro.disconnect();
}

/**
 * A sparkline in el over the last `span` seconds: update(t, ys) draws it
 * with its right edge at the newest second. floor is the least top of the
 * y scale (so a flat, healthy line stays low instead of filling the box).
 */
export function sparkline(el, { color = PALETTE[0], bars = false, floor = 1, span = 120 } = {}) {
  let xmax = Math.floor(Date.now() / 1000);
  const opts = {
    ...sizeOf(el, 32),
    pxAlign: false,
    cursor: { show: false },
    legend: { show: false },
    select: { show: false },
    scales: {
      x: { time: false, range: () => [xmax - span, xmax] },
      y: { range: (u, min, max) => [0, Math.max(floor, (max || 0) * 1.15)] },
    },
    axes: [{ show: false }, { show: false }],
    series: [
      {},
      {
        stroke: color,
        width: 1.5,
        fill: color + '38',
        points: { show: false },
        spanGaps: false,
        paths: bars ? uPlot.paths.bars({ size: [0.9, 6], align: 1 }) : undefined,
      },
    ],
  };
  const u = new uPlot(opts, [[], []], el);
  const unobserve = observe(el, u, 32);
  return {
    update(t, ys, now) {
      if (now) xmax = now;
      else if (t.length) xmax = t[t.length - 1];
      u.setData([t, ys]);
    },
    destroy() { unobserve(); u.destroy(); },
  };
}

/**
 * A time-series panel in el: one series per name, x in Unix seconds.
 * update(data) takes [t[], ys1[], ys2[], …] as uPlot does; setSeries(names)
 * rebuilds it when the views change.
 */
export function timeChart(el, { unit = '', digits = 0, names = [], height = 190, min0 = true, span = 600, timeLabel = 'Time', integer = false } = {}) {
  let u = null;
  let unobserve = () => {};
  let xmax = Math.floor(Date.now() / 1000);
  let current = [];
  const fmt = (v) => (v === null || v === undefined ? '—' : Number(v).toFixed(digits) + (unit ? ' ' + unit : ''));

  function build(ns) {
    if (u) { unobserve(); u.destroy(); }
    current = ns.slice();
    const opts = {
      width: sizeOf(el, height).width,
      height,
      pxAlign: false,
      cursor: { drag: { x: false, y: false } },
      legend: { live: true },
      scales: {
        x: { time: true, range: () => [xmax - span, xmax] },
        y: { range: (uu, min, max) => [min0 ? 0 : (min || 0), Math.max(1, (max || 0) * 1.1)] },
      },
      axes: [
        { stroke: AXIS, grid: { stroke: GRID, width: 1 }, ticks: { stroke: GRID, width: 1 }, space: 70, values: (uu, splits) => splits.map((v) => clock(v, splits)) },
        { stroke: AXIS, grid: { stroke: GRID, width: 1 }, ticks: { stroke: GRID, width: 1 }, size: 56, incrs: integer ? [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000] : undefined },
      ],
      series: [
        { label: timeLabel, value: (uu, v) => (v ? clock(v) : '—') },
        ...ns.map((n, i) => ({
          label: n,
          stroke: PALETTE[i % PALETTE.length],
          width: 1.5,
          points: { show: false },
          spanGaps: false,
          value: (uu, v) => fmt(v),
        })),
      ],
    };
    const empty = [[], ...ns.map(() => [])];
    u = new uPlot(opts, empty, el);
    unobserve = observe(el, u, height, height);
  }

  build(names);
  return {
    names: () => current,
    setSeries(ns) {
      if (ns.length !== current.length || ns.some((n, i) => n !== current[i])) build(ns);
    },
    update(data, now) {
      if (now) xmax = now;
      else if (data[0].length) xmax = data[0][data[0].length - 1];
      u.setData(data);
    },
    destroy() { unobserve(); if (u) u.destroy(); u = null; },
  };
}
