// featmon's pages: the models overview (/ui/), one model (/ui/models/NAME)
// and feature lookups (/ui/features). Plain DOM and hand-drawn SVG: no
// library, and no request beyond featmond's own origin. featmon-report
// saves a model page with its report in window.FEATMON_REPORT; the same code
// then draws it with no server at all.
'use strict';
(() => {
  const SAVED = window.FEATMON_REPORT || null;
  const POLL_MS = 2000;  // the overview makes two requests a poll: one a second
  const RANK = { drift: 3, warn: 2, ok: 1, no_verdict: 0 };
  const main = document.getElementById('main');
  const live = document.getElementById('live');
  const SVG_NS = 'http://www.w3.org/2000/svg';

  // ---- DOM and SVG builders -------------------------------------------------
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
    return e;
  }
  function sv(tag, attrs, ...children) {
    const e = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
    return e;
  }

  // ---- Formatting ------------------------------------------------------------
  const pad = (n) => String(n).padStart(2, '0');
  function utc(ms) {
    if (!ms) return '—';
    const d = new Date(ms);
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`;
  }
  function hhmm(ms) {
    const d = new Date(ms);
    return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
  }
  function num(x, digits = 3) {
    if (x === null || x === undefined || Number.isNaN(x)) return '—';
    if (Number.isInteger(x) && Math.abs(x) < 1e15) return x.toLocaleString('en-US');
    const a = Math.abs(x);
    if (a !== 0 && (a < 1e-3 || a >= 1e6)) return x.toExponential(2);
    return x.toLocaleString('en-US', { maximumFractionDigits: digits });
  }
  function duration(ms) {
    if (ms % 3600000 === 0) return `${ms / 3600000} h`;
    if (ms % 60000 === 0) return `${ms / 60000} min`;
    return `${ms / 1000} s`;
  }
  function verdict(status) {
    const word = { no_verdict: 'no verdict', warn: 'warning', retrain_requested: 'retrain requested' }[status] || status;
    return el('span', { class: `verdict ${status}` }, word);
  }

  // ---- Data ------------------------------------------------------------------
  class Unauthorized extends Error {}
  function token() { return sessionStorage.getItem('featmon-token') || ''; }
  async function get(path, asText) {
    const headers = token() ? { Authorization: `Bearer ${token()}` } : {};
    const r = await fetch(path, { headers, cache: 'no-store' });
    if (r.status === 401) throw new Unauthorized();
    if (!r.ok) {
      let why = r.statusText;
      try { why = (await r.json()).error || why; } catch (e) { /* not JSON */ }
      throw new Error(`${path} answered ${r.status}: ${why}`);
    }
    return asText ? r.text() : r.json();
  }
  // Prometheus text: series name -> [{labels, value}].
  function parseMetrics(text) {
    const out = {};
    for (const line of text.split('\n')) {
      if (!line || line[0] === '#') continue;
      const m = line.match(/^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)/);
      if (!m) continue;
      const labels = {};
      for (const l of (m[3] || '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
      (out[m[1]] = out[m[1]] || []).push({ labels, value: Number(m[4]) });
    }
    return out;
  }
  const sum = (series) => (series || []).reduce((a, s) => a + s.value, 0);

  // A p-value is worse the smaller it is: drawn and ranked as -log10(p).
  const isPValue = (statistic) => /_p_value$/.test(statistic || '');
  function severity(track) {
    if (track.value === undefined || track.value === null || !track.rule) return -1;
    return isPValue(track.rule.statistic) ? track.rule.alert / Math.max(track.value, 1e-300) : track.value / track.rule.alert;
  }
  function versionState(v, hist) {
    const requests = (hist && hist.retrain_requests) || [];
    if (requests.length && v.windows && requests[requests.length - 1].evaluated_at_ms === v.windows.evaluated_at_ms)
      return 'retrain_requested';
    const statuses = [...(v.features || []).map((f) => f.status), v.prediction_drift && v.prediction_drift.status,
      v.label_drift && v.label_drift.status, v.performance && v.performance.calibration_status];
    const worst = statuses.filter(Boolean).reduce((a, s) => (RANK[s] > RANK[a] ? s : a), 'no_verdict');
    return worst;
  }
  function latestVersion(report) {
    const names = Object.keys(report.versions || {});
    names.sort((a, b) => report.versions[b].last_seen_ms - report.versions[a].last_seen_ms);
    return names[0];
  }

  // ---- Charts ----------------------------------------------------------------
  // Reference against current on the bins the statistic used, as shares.
  function histogramChart(track) {
    const h = track.histogram;
    const W = 420, H = 170, L = 40, R = 8, T = 10, B = 34;
    const svg = sv('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', class: 'histogram',
      'aria-label': `${track.feature}: reference and current histograms` });
    if (!h) {
      svg.append(sv('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle' }, 'no histogram yet: the reference is still filling'));
      return svg;
    }
    const total = (a) => a.reduce((x, y) => x + y, 0) || 1;
    const ref = h.reference.map((c) => c / total(h.reference)), cur = h.current.map((c) => c / total(h.current));
    const top = Math.max(...ref, ...cur, 0.01);
    const n = ref.length, bw = (W - L - R) / n, y = (v) => T + (H - T - B) * (1 - v / top);
    svg.append(sv('line', { x1: L, x2: W - R, y1: H - B, y2: H - B, stroke: '#d1d9e0' }));
    svg.append(sv('text', { x: L - 4, y: T + 8, 'text-anchor': 'end' }, `${Math.round(top * 100)}%`));
    svg.append(sv('text', { x: L - 4, y: H - B, 'text-anchor': 'end' }, '0%'));
    for (let i = 0; i < n; i++) {
      const x = L + i * bw;
      svg.append(sv('rect', { class: 'bar reference', x: x + bw * 0.08, width: bw * 0.42, y: y(ref[i]), height: H - B - y(ref[i]),
        fill: 'var(--ref)', 'data-share': ref[i] }, sv('title', {}, `reference ${(ref[i] * 100).toFixed(1)}%`)));
      svg.append(sv('rect', { class: 'bar current', x: x + bw * 0.5, width: bw * 0.42, y: y(cur[i]), height: H - B - y(cur[i]),
        fill: 'var(--cur)', 'data-share': cur[i] }, sv('title', {}, `current ${(cur[i] * 100).toFixed(1)}%`)));
    }
    // Bin labels: numeric bins are bounded by their edges, categorical ones named.
    const every = Math.ceil(n / 8);
    if (h.edges) {
      h.edges.forEach((e, i) => {
        if (i % every) return;
        svg.append(sv('text', { x: L + (i + 1) * bw, y: H - B + 13, 'text-anchor': 'middle' }, num(e, 2)));
      });
    } else {
      h.categories.forEach((c, i) => {
        if (i % every) return;
        svg.append(sv('text', { x: L + (i + 0.5) * bw, y: H - B + 13, 'text-anchor': 'middle' }, c.length > 9 ? `${c.slice(0, 8)}…` : c));
      });
    }
    svg.append(sv('text', { x: (W + L) / 2, y: H - 4, 'text-anchor': 'middle' },
      h.edges ? `${track.feature} (bins by reference quantiles)` : `${track.feature} (reference categories)`));
    return svg;
  }

  // A series over event time: points coloured and titled by verdict, the warn
  // and alert lines, and retrain requests as red verticals.
  function timelineChart(times, values, opts) {
    const W = 420, H = 150, L = 44, R = 40, T = 10, B = 22;
    const svg = sv('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', class: 'timeline', 'aria-label': opts.label });
    const tr = opts.transform || ((v) => v);
    const pts = times.map((t, i) => [t, values[i] === null || values[i] === undefined ? null : tr(values[i])]);
    const ys = pts.map((p) => p[1]).filter((v) => v !== null && Number.isFinite(v));
    const lines = (opts.lines || []).map(([v, name]) => [tr(v), name]);
    if (!ys.length) {
      svg.append(sv('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle' }, 'no value yet'));
      return svg;
    }
    let lo = Math.min(...ys, ...lines.map((l) => l[0])), hi = Math.max(...ys, ...lines.map((l) => l[0]));
    if (opts.zero) lo = Math.min(lo, 0);
    if (hi === lo) hi = lo + 1;
    const t0 = times[0], t1 = Math.max(times[times.length - 1], t0 + 1);
    const x = (t) => L + (W - L - R) * (t - t0) / (t1 - t0), y = (v) => T + (H - T - B) * (1 - (v - lo) / (hi - lo));
    svg.append(sv('line', { x1: L, x2: W - R, y1: H - B, y2: H - B, stroke: '#d1d9e0' }));
    svg.append(sv('text', { x: L - 4, y: T + 8, 'text-anchor': 'end' }, num(hi, 2)));
    svg.append(sv('text', { x: L - 4, y: H - B, 'text-anchor': 'end' }, num(lo, 2)));
    svg.append(sv('text', { x: L, y: H - 6 }, hhmm(t0)));
    svg.append(sv('text', { x: (L + W - R) / 2, y: H - 6, 'text-anchor': 'middle' }, hhmm((t0 + t1) / 2)));
    svg.append(sv('text', { x: W - R, y: H - 6, 'text-anchor': 'end' }, `${hhmm(t1)} UTC`));
    // Threshold names sit at the right end of their lines, moved apart when
    // the scale squeezes the lines together (a statistic far above its alert).
    let lastLabelY = Infinity;
    for (const [v, name] of [...lines].sort((a, b) => y(b[0]) - y(a[0]))) {
      svg.append(sv('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: name === 'alert' || name === 'high' ? 'var(--drift)' : 'var(--warn)',
        'stroke-dasharray': '4 3', class: `threshold ${name}` }));
      const labelY = Math.min(y(v) + 4, lastLabelY - 11);
      svg.append(sv('text', { x: W - R + 3, y: labelY }, name));
      lastLabelY = labelY;
    }
    let lastRequestX = -Infinity;
    for (const t of opts.requests || []) {
      svg.append(sv('line', { x1: x(t), x2: x(t), y1: T, y2: H - B, stroke: 'var(--retrain)', 'stroke-dasharray': '2 2',
        class: 'retrain' }, sv('title', {}, `retrain requested at ${utc(t)}`)));
      if (x(t) - lastRequestX > 50) {
        svg.append(sv('text', { x: x(t) + 3, y: T + 8, class: 'retrain-label' }, 'retrain'));
        lastRequestX = x(t);
      }
    }
    let d = '';
    pts.forEach(([t, v]) => { if (v !== null && Number.isFinite(v)) d += `${d ? 'L' : 'M'}${x(t).toFixed(1)},${y(v).toFixed(1)}`; });
    svg.append(sv('path', { d, fill: 'none', stroke: 'var(--cur)', 'stroke-width': 1.5, class: 'series' }));
    pts.forEach(([t, v], i) => {
      if (v === null || !Number.isFinite(v)) return;
      const status = opts.statuses ? opts.statuses[i] : 'ok';
      svg.append(sv('circle', { cx: x(t), cy: y(v), r: 2.2, fill: `var(--${status === 'warn' ? 'warn' : status === 'drift' ? 'drift' : status === 'ok' ? 'ok' : 'none'})`,
        class: `point ${status}` }, sv('title', {}, `${utc(t)}: ${num(values[i])} (${status})`)));
    });
    return svg;
  }

  // ---- Views -------------------------------------------------------------------
  function tokenForm(retry) {
    const input = el('input', { type: 'password', placeholder: 'bearer token', 'aria-label': 'bearer token', size: 32 });
    return el('div', {},
      el('h1', {}, 'This featmond asks for a token'),
      el('p', { class: 'muted' }, 'Its monitoring routes need the bearer token configured in http.bearer_token_file or http.bearer_token_env. It is kept in this tab only.'),
      el('form', { class: 'inline', onsubmit: (e) => { e.preventDefault(); sessionStorage.setItem('featmon-token', input.value); retry(); } },
        input, el('button', { type: 'submit' }, 'Use it')));
  }

  async function overview() {
    const [all, metricsText] = await Promise.all([get('/v1/monitoring/models'), get('/metrics', true)]);
    const metrics = parseMetrics(metricsText);
    const rows = [];
    for (const report of all.models) {
      for (const [name, v] of Object.entries(report.versions)) {
        const state = versionState(v, (report.history || {})[name]);
        rows.push(el('tr', {},
          el('td', {}, el('a', { href: `/ui/models/${encodeURIComponent(report.model)}?version=${encodeURIComponent(name)}` }, report.model)),
          el('td', {}, name), el('td', { class: 'state' }, verdict(state)),
          el('td', {}, utc(v.windows && v.windows.evaluated_at_ms)),
          el('td', { class: 'num' }, num(v.predictions)), el('td', { class: 'num' }, num(v.matured_labels))));
      }
    }
    const rejects = (metrics.featmon_events_rejected_total || []).filter((s) => s.value > 0);
    const stalled = sum(metrics.featmon_commits_stalled);
    const eventLag = Math.max(0, ...(metrics.featmon_event_time_lag_seconds || []).map((s) => s.value));
    return el('div', {},
      el('h1', {}, 'Models'),
      el('p', { class: 'muted' }, `Monitoring watermark ${utc(all.watermark_ms)}: every evaluation up to it is in.`),
      rows.length
        ? el('div', { class: 'scroll' }, el('table', { id: 'models' },
          el('thead', {}, el('tr', {}, el('th', {}, 'Model'), el('th', {}, 'Version'), el('th', {}, 'State'),
            el('th', {}, 'Last evaluation (event time)'), el('th', { class: 'num' }, 'Predictions'), el('th', { class: 'num' }, 'Matured labels'))),
          el('tbody', {}, rows)))
        : el('p', {}, 'No model has been seen on the predictions topic yet.'),
      el('h2', {}, 'Ingest'),
      el('table', { id: 'ingest' }, el('tbody', {},
        el('tr', {}, el('th', {}, 'Consumer lag'), el('td', { class: 'num' }, `${num(sum(metrics.featmon_consumer_lag_messages))} messages`)),
        el('tr', {}, el('th', {}, 'Freshness (event-time lag, worst partition)'), el('td', { class: 'num' }, `${num(eventLag, 1)} s`)),
        el('tr', {}, el('th', {}, 'Events consumed'), el('td', { class: 'num' }, num(sum(metrics.featmon_events_consumed_total)))),
        el('tr', {}, el('th', {}, 'Rejected'), el('td', { class: 'num' },
          rejects.length ? rejects.map((s) => `${s.labels.reason || '?'} ${num(s.value)}`).join(', ') : 'none')),
        el('tr', {}, el('th', {}, 'Late events dropped'), el('td', { class: 'num' }, num(sum(metrics.featmon_events_late_dropped_total)))),
        el('tr', {}, el('th', {}, 'Commits stalled now'), el('td', { class: 'num' }, stalled > 0 ? `${num(stalled)} (stalled)` : 'none')),
        el('tr', {}, el('th', {}, 'Commit failures'), el('td', { class: 'num' }, num(sum(metrics.featmon_commit_failures_total)))))));
  }

  function trackCard(t, hist, requests) {
    const h = hist && hist.tracks.find((x) => x.signal === t.signal && x.feature === t.feature);
    const pv = t.rule && isPValue(t.rule.statistic);
    const card = el('div', { class: 'card track', 'data-feature': t.feature, 'data-status': t.status },
      el('h3', {}, `${t.signal === 'data' ? '' : `${t.signal}: `}${t.feature} `, verdict(t.status)),
      el('div', { class: 'sub' }, t.rule
        ? `${t.rule.statistic} ${num(t.value)} (warn ${num(t.rule.warn)}, alert ${num(t.rule.alert)}), ${num(t.reference_samples)} reference and ${num(t.current_samples)} current samples`
        : 'not evaluated yet'),
      el('div', { class: 'legend' }, el('span', {}, el('i', { class: 'swatch', style: 'background:var(--ref)' }), 'reference'),
        el('span', {}, el('i', { class: 'swatch', style: 'background:var(--cur)' }), 'current window')),
      histogramChart(t));
    if (h && t.rule) {
      card.append(el('div', { class: 'sub' }, pv ? `−log10 ${t.rule.statistic} over event time` : `${t.rule.statistic} over event time`),
        timelineChart(hist.evaluated_at_ms, h.values, { label: `${t.feature} statistic over time`, statuses: h.statuses,
          lines: [[t.rule.warn, 'warn'], [t.rule.alert, 'alert']], requests, zero: !pv,
          transform: pv ? (v) => -Math.log10(Math.max(v, 1e-300)) : undefined }));
    }
    return card;
  }

  function modelView(report, wanted) {
    const versions = Object.keys(report.versions);
    if (!versions.length) return el('p', {}, `No live version of ${report.model}.`);
    const name = versions.includes(wanted) ? wanted : latestVersion(report);
    const v = report.versions[name], hist = (report.history || {})[name];
    const requests = hist ? hist.retrain_requests.map((r) => r.evaluated_at_ms) : [];
    const state = versionState(v, hist);
    const select = el('select', { 'aria-label': 'model version', onchange: (e) => navigate(`?version=${encodeURIComponent(e.target.value)}`) },
      versions.map((n) => { const o = el('option', { value: n }, n); if (n === name) o.selected = true; return o; }));
    const features = [...(v.features || [])].sort((a, b) => (RANK[b.status] - RANK[a.status]) || (severity(b) - severity(a)));
    const perf = v.performance || {};
    const perfCharts = hist ? [
      ['log loss', hist.performance.logloss, []],
      ['calibration ratio (observed / expected clicks)', hist.performance.calibration_ratio,
        perf.calibration_range ? [[perf.calibration_range[0], 'low'], [perf.calibration_range[1], 'high']] : []],
      ['AUC', hist.performance.auc, []],
      ['matured labels in the window', hist.performance.matured_labels, []],
    ].map(([label, values, lines]) => el('div', { class: 'card perf' }, el('h3', {}, label),
      timelineChart(hist.evaluated_at_ms, values, { label, lines, requests }))) : [];
    const w = v.windows || {};
    return el('div', {},
      el('h1', {}, `${report.model} `, verdict(state)),
      el('form', { class: 'inline' }, el('label', {}, 'Version ', select),
        el('span', { class: 'muted' }, `${num(v.predictions)} predictions, ${num(v.matured_labels)} matured labels; evaluated every ${duration(report.evaluation_period_ms)} on ${duration(report.window_ms)} windows against the ${report.reference_kind.replace(/_/g, ' ')} reference`)),
      el('p', { class: 'muted', id: 'summary' }, w.current ? `Last evaluation ${utc(w.evaluated_at_ms)}: current window ${utc(w.current.start_ms)} to ${utc(w.current.end_ms)}, reference ${utc(w.reference.start_ms)} to ${utc(w.reference.end_ms)}.` : 'Not evaluated yet.'),
      el('h2', {}, 'Retrain requests'),
      hist && hist.retrain_requests.length
        ? el('table', { id: 'requests' },
          el('thead', {}, el('tr', {}, el('th', {}, 'Requested at (event time)'), el('th', {}, 'Reasons (signal/feature)'))),
          el('tbody', {}, hist.retrain_requests.slice().reverse().map((r) =>
          el('tr', {}, el('td', {}, utc(r.evaluated_at_ms)), el('td', {}, r.reasons.join(', '))))))
        : el('p', { class: 'muted' }, 'None in the history kept.'),
      el('h2', {}, 'Score and labels'),
      el('div', { class: 'grid' }, [v.prediction_drift, v.label_drift].filter((t) => t && t.feature).map((t) => trackCard(t, hist, requests))),
      el('h2', {}, 'Features, worst first'),
      el('div', { class: 'grid', id: 'features' }, features.map((t) => trackCard(t, hist, requests))),
      el('h2', {}, 'Performance over event time'),
      el('p', { class: 'muted' }, `Calibration ${perf.calibration_status ? '' : 'not judged yet'}`, perf.calibration_status ? verdict(perf.calibration_status) : null,
        ` log loss ${num(perf.logloss)}, calibration ratio ${num(perf.calibration_ratio)}, AUC ${num(perf.auc)} on ${num(perf.matured_labels)} matured labels.`),
      el('div', { class: 'grid' }, perfCharts));
  }

  async function model(name) {
    const wanted = new URLSearchParams(location.search).get('version');
    return modelView(await get(`/v1/monitoring/models/${encodeURIComponent(name)}`), wanted);
  }

  // A windowed feature's tiles as small bars, one slot per tile of the window.
  function tileBars(t, asOf) {
    const slots = Math.max(1, Math.round(t.window_ms / t.tile_ms) + 1);
    const first = Math.floor((asOf - t.window_ms) / t.tile_ms) * t.tile_ms;
    // A week of hourly tiles leaves 1.3 px per slot: no gap then, or nothing shows.
    const W = 220, H = 34, slot = W / slots, gap = slot > 3 ? 1 : 0, bw = Math.max(0.8, slot - gap);
    const top = Math.max(1e-9, ...t.values.map((v) => v[1]));
    const svg = sv('svg', { viewBox: `0 0 ${W} ${H}`, class: 'tiles', role: 'img', style: 'max-width:220px',
      'aria-label': `${t.values.length} non-empty tiles of ${duration(t.tile_ms)}` });
    svg.append(sv('line', { x1: 0, x2: W, y1: H - 0.5, y2: H - 0.5, stroke: '#d1d9e0' }));
    for (const [start, value] of t.values) {
      const i = Math.round((start - first) / t.tile_ms);
      const h = Math.max(1, (H - 2) * value / top);
      svg.append(sv('rect', { class: 'bar tile', x: i * slot, width: bw, y: H - 1 - h, height: h, fill: 'var(--cur)' },
        sv('title', {}, `${utc(start)}, ${duration(t.tile_ms)}: ${num(value)}`)));
    }
    return el('span', {}, svg, el('span', { class: 'muted' }, ` ${duration(t.tile_ms)} tiles over ${duration(t.window_ms)}`));
  }

  // A feature's value as people read it: lists joined, *_ts_ms as a UTC time.
  function featureText(name, val) {
    if (Array.isArray(val)) return val.join(', ');
    if (val === null || val === undefined) return '—';
    if (typeof val === 'number') return name.endsWith('_ts_ms') ? utc(val) : num(val);
    return String(val);
  }

  // The lookup shown, kept in the address (?kind=item&id=i1) so it can be linked.
  const params = new URLSearchParams(location.search);
  let lookup = { kind: params.get('kind') === 'item' ? 'item' : 'user', id: params.get('id') || '' };
  async function features() {
    const kind = el('select', { 'aria-label': 'entity kind' }, ['user', 'item'].map((k) => {
      const o = el('option', { value: k }, k); if (k === lookup.kind) o.selected = true; return o;
    }));
    const id = el('input', { type: 'text', placeholder: 'id', 'aria-label': 'id', value: lookup.id });
    const form = el('form', { class: 'inline', onsubmit: (e) => {
      e.preventDefault();
      lookup = { kind: kind.value, id: id.value.trim() };
      id.blur();
      navigate(`?kind=${lookup.kind}&id=${encodeURIComponent(lookup.id)}`);
    } },
      kind, id, el('button', { type: 'submit' }, 'Look up'));
    const out = el('div', { id: 'lookup' });
    if (lookup.id) {
      const j = await get(`/v1/features/${lookup.kind}/${encodeURIComponent(lookup.id)}?tiles=true`);
      const tiles = j.tiles || {};
      const rows = Object.entries(j.features || {}).map(([k, val]) =>
        el('tr', { 'data-feature': k }, el('td', {}, k),
          el('td', { class: 'num' }, featureText(k, val)),
          el('td', {}, tiles[k] ? tileBars(tiles[k], j.as_of_ms) : '')));
      out.append(el('p', { class: 'muted' }, `${lookup.kind} ${lookup.id}: ${j.found ? 'found' : 'never seen'}, as of ${utc(j.as_of_ms)}`),
        el('div', { class: 'scroll' }, el('table', {}, el('thead', {}, el('tr', {}, el('th', {}, 'Feature'), el('th', { class: 'num' }, 'Value'),
          el('th', {}, 'Per tile, oldest to newest'))), el('tbody', {}, rows))));
    }
    return el('div', {}, el('h1', {}, 'Features'), form, out);
  }

  // ---- Routing and live updates ------------------------------------------------
  function route() {
    const path = location.pathname.replace(/\/+$/, '');
    if (path.startsWith('/ui/models/')) return () => model(decodeURIComponent(path.slice('/ui/models/'.length)));
    if (path === '/ui/features') return features;
    return overview;
  }
  function navigate(search) {
    history.replaceState(null, '', location.pathname + search);
    refresh();
  }

  let shown = '', timer = null;
  async function refresh() {
    clearTimeout(timer);
    try {
      const view = await route()();
      // Redraw only what changed, so a reader's place and focus stay put.
      const html = view.outerHTML;
      const typing = main.contains(document.activeElement) && /^(INPUT|SELECT)$/.test(document.activeElement.tagName);
      if (html !== shown && !typing) {
        main.replaceChildren(view);
        shown = html;
      }
      live.classList.remove('error');
      live.textContent = `live, updated ${new Date().toISOString().slice(11, 19)} UTC`;
    } catch (e) {
      if (e instanceof Unauthorized) { main.replaceChildren(tokenForm(refresh)); shown = ''; return; }
      live.textContent = `not updating: ${e.message}`;
      live.classList.add('error');
    }
    timer = setTimeout(refresh, POLL_MS);
  }

  if (SAVED) {
    document.querySelector('nav').remove();
    main.replaceChildren(modelView(SAVED.report, SAVED.version));
    live.textContent = `saved by featmon-report at ${utc(SAVED.saved_at_ms)} from ${SAVED.url}`;
  } else {
    refresh();
  }
})();
