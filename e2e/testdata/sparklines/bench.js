// BenchmarkSparklines (e2e/bench_test.go): the overview's sparklines — 50
// tiles × 3 charts (round trip and freeze as filled lines, dropouts as
// bars), 120 points each, one point a second — drawn by the library ?lib=
// names: "uplot" (the console's vendored uPlot, with the options of
// console/web/static/js/charts.js) or "echarts" (Apache ECharts, canvas
// renderer, no animation, no axes, tooltip or legend). Once a second every
// chart drops its oldest point, takes a new one and is redrawn, as the
// overview does on each tick of the live feed. window.bench tells the
// benchmark how far it got.

const params = new URLSearchParams(location.search);
const LIB = params.get('lib');
const TILES = Number(params.get('tiles')) || 50;
const SPAN = 120; // seconds shown, one point each
const W = 81;
const H = 36;

const SPARKS = [
  { key: 'rtt', label: 'RTT', color: '#56b4e9', floor: 100 },
  { key: 'freeze', label: 'freeze', color: '#e69f00', floor: 200 },
  { key: 'dropouts', label: 'drops', color: '#ff6b6b', floor: 2, bars: true },
];

const bench = { lib: LIB, ready: false, charts: 0, updates: 0, error: '', lastUpdateMS: 0 };
window.bench = bench;

// A small seeded generator, so both libraries draw the same figures.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// next is one second of a room: round trips around its own base with
// noise and the odd spike, freezes now and then, a rare dropout.
function figures(i) {
  const r = rng(1000 + i);
  const base = 25 + 40 * r();
  return () => {
    const spike = r() < 0.03 ? 150 * r() : 0;
    return {
      rtt: Math.round((base + 8 * (r() - 0.5) + spike) * 10) / 10,
      freeze: r() < 0.05 ? Math.round(100 + 500 * r()) : 0,
      dropouts: r() < 0.004 ? 1 : 0,
    };
  };
}

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error('cannot load ' + src));
    document.head.append(s);
  });
}

// Each library's sparkline: make(el, spec, t, ys) draws the arrays it is
// given; update(xmax) redraws them after they changed in place.

async function uplotLib() {
  const { default: uPlot } = await import('/vendor/uplot/uPlot.esm.js');
  return (el, sp, t, ys) => {
    let xmax = t[t.length - 1];
    const u = new uPlot({
      width: W,
      height: H,
      pxAlign: false,
      cursor: { show: false },
      legend: { show: false },
      select: { show: false },
      scales: {
        x: { time: false, range: () => [xmax - SPAN, xmax] },
        y: { range: (u, min, max) => [0, Math.max(sp.floor, (max || 0) * 1.15)] },
      },
      axes: [{ show: false }, { show: false }],
      series: [
        {},
        {
          stroke: sp.color,
          width: 1.5,
          fill: sp.color + '38',
          points: { show: false },
          spanGaps: false,
          paths: sp.bars ? uPlot.paths.bars({ size: [0.9, 6], align: 1 }) : undefined,
        },
      ],
    }, [t, ys], el);
    return (now) => {
      xmax = now;
      u.setData([t, ys]);
    };
  };
}

async function echartsLib() {
  await loadScript('/vendor/echarts/echarts.min.js');
  const echarts = window.echarts;
  return (el, sp, t, ys) => {
    // ECharts takes [x, y] pairs; they are kept as the uPlot arrays are,
    // dropping the oldest and pushing the newest in place.
    const data = t.map((x, i) => [x, ys[i]]);
    const chart = echarts.init(el, null, { renderer: 'canvas', width: W, height: H });
    const yMax = (v) => Math.max(sp.floor, (v.max || 0) * 1.15);
    const series = {
      type: sp.bars ? 'bar' : 'line',
      data,
      silent: true,
      animation: false,
      itemStyle: { color: sp.color },
    };
    if (sp.bars) {
      series.barWidth = '90%';
      series.barMaxWidth = 6;
    } else {
      Object.assign(series, {
        showSymbol: false,
        symbol: 'none',
        connectNulls: false,
        lineStyle: { color: sp.color, width: 1.5 },
        areaStyle: { color: sp.color + '38' },
      });
    }
    const xmax = t[t.length - 1];
    chart.setOption({
      animation: false,
      silent: true,
      tooltip: { show: false },
      legend: { show: false },
      grid: { left: 0, right: 0, top: 0, bottom: 0 },
      xAxis: { type: 'value', show: false, min: xmax - SPAN, max: xmax },
      yAxis: { type: 'value', show: false, min: 0, max: yMax },
      series: [series],
    });
    return (now) => {
      // Bring the pairs up to the arrays (one point a second).
      data.shift();
      data.push([t[t.length - 1], ys[ys.length - 1]]);
      chart.setOption({ xAxis: { min: now - SPAN, max: now }, series: [{ data }] });
    };
  };
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text) e.textContent = text;
  return e;
}

async function main() {
  const make = LIB === 'uplot' ? await uplotLib() : LIB === 'echarts' ? await echartsLib() : null;
  if (!make) throw new Error('?lib= must be uplot or echarts, not ' + LIB);
  const grid = document.getElementById('tiles');
  const now0 = Math.floor(Date.now() / 1000);
  const tiles = [];
  for (let i = 0; i < TILES; i++) {
    const next = figures(i);
    const t = [];
    const ys = { rtt: [], freeze: [], dropouts: [] };
    for (let s = now0 - SPAN + 1; s <= now0; s++) {
      const f = next();
      t.push(s);
      for (const sp of SPARKS) ys[sp.key].push(f[sp.key]);
    }
    const tile = el('div', 'tile');
    tile.append(el('div', 'tile-name', 'room ' + (i + 1)));
    const row = el('div', 'tile-sparks');
    tile.append(row);
    grid.append(tile);
    const values = [];
    const boxes = SPARKS.map((sp) => {
      const spark = el('div', 'spark');
      const head = el('div', 'spark-head');
      const value = el('span', 'spark-value');
      head.append(el('span', '', sp.label), value);
      const box = el('div', 'spark-box');
      spark.append(head, box);
      row.append(spark);
      values.push(value);
      return box;
    });
    tiles.push({ next, t, ys, values, boxes, updates: [] });
  }
  // Charts once the boxes are laid out, as the overview does.
  await new Promise((r) => requestAnimationFrame(r));
  for (const tile of tiles) {
    tile.updates = SPARKS.map((sp, j) => make(tile.boxes[j], sp, tile.t, tile.ys[sp.key]));
    bench.charts += tile.updates.length;
  }
  let now = now0;
  setInterval(() => {
    const start = performance.now();
    now++;
    for (const tile of tiles) {
      const f = tile.next();
      tile.t.shift();
      tile.t.push(now);
      SPARKS.forEach((sp, j) => {
        const ys = tile.ys[sp.key];
        ys.shift();
        ys.push(f[sp.key]);
        tile.values[j].textContent = String(f[sp.key]);
      });
      // After all three arrays moved: the uPlot charts share t.
      for (const u of tile.updates) u(now);
    }
    bench.updates++;
    bench.lastUpdateMS = performance.now() - start;
  }, 1000);
  bench.ready = true;
}

main().catch((e) => {
  bench.error = String(e && e.stack ? e.stack : e);
});
