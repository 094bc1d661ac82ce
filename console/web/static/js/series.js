// A room's figures over time, as the API and the feed send them.

/** A view's points as an array of {t, rtt_ms, …}, from either the array
 * form ([{t, rtt_ms…}], as GET /api/rooms/{id} and the feed's "room"
 * message send them) or columns ({t: [], rtt: []…}). */
export function pointsOf(v) {
  if (Array.isArray(v)) return v.filter((p) => p && typeof p.t === 'number');
  if (v && Array.isArray(v.t)) {
    const col = (a, b) => v[a] || v[b] || [];
    const cols = {
      rtt_ms: col('rtt_ms', 'rtt'), lag_ms: col('lag_ms', 'lag'), fps: col('fps', 'fps'),
      freeze_ms: col('freeze_ms', 'freeze'), loss_pct: col('loss_pct', 'loss'), dropouts: col('dropouts', 'dropouts'),
    };
    return v.t.map((t, i) => {
      const p = { t };
      for (const [k, a] of Object.entries(cols)) p[k] = a[i];
      return p;
    });
  }
  return [];
}

/** Whether a view ("location/transport") carries video: only WebRTC views
 * have a frame rate and packet loss. */
export function isVideo(view) {
  return /webrtc|whep|whip/i.test(String(view).split('/').pop() || '');
}

/**
 * Aligns views' points on one time axis for a chart: [ts, ys of view 1, …]
 * with null where a view has no point at a second. views is a Map of
 * view → Map(t → point); names picks and orders the views.
 */
export function align(views, names, key) {
  const ts = new Set();
  for (const n of names) for (const t of (views.get(n) || new Map()).keys()) ts.add(t);
  const xs = [...ts].sort((a, b) => a - b);
  return [xs, ...names.map((n) => {
    const m = views.get(n) || new Map();
    return xs.map((x) => {
      const p = m.get(x);
      return p && p[key] !== undefined && p[key] !== null ? p[key] : null;
    });
  })];
}
