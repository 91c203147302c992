/* A tiny SVG line chart for time series: no library, no external fetch.
   FBChart.line(el, {series: [{values, color, name}], start, step, format}) */
(function () {
  "use strict";
  const NS = "http://www.w3.org/2000/svg";
  const W = 300, H = 96, L = 34, R = 4, T = 6, B = 14;

  function node(tag, attrs, text) {
    const n = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, v);
    if (text !== undefined) n.textContent = text;
    return n;
  }

  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  function clock(ms) {
    const d = new Date(ms);
    return d.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"});
  }

  // Polyline path with gaps where a bucket has no value.
  function path(values, x, y) {
    let d = "", pen = false;
    values.forEach((v, i) => {
      if (v === null || v === undefined) { pen = false; return; }
      d += (pen ? "L" : "M") + x(i).toFixed(1) + "," + y(v).toFixed(1);
      pen = true;
    });
    return d;
  }

  function line(el, opts) {
    const series = opts.series, n = series[0].values.length;
    const fmt = opts.format || (v => String(v));
    const all = series.flatMap(s => s.values).filter(v => v !== null && v !== undefined);
    // A "nice" top of scale, at least opts.floor, at most opts.cap (1 for rates).
    const max = Math.min(opts.cap || Infinity, niceMax(Math.max(opts.floor || 0, ...all)));
    const x = i => L + (n <= 1 ? 0 : (i / (n - 1)) * (W - L - R));
    const y = v => T + (1 - v / max) * (H - T - B);
    const svg = node("svg", {viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img"});
    for (const f of [0, 0.5, 1]) {
      svg.appendChild(node("line", {x1: L, x2: W - R, y1: y(max * f), y2: y(max * f),
        stroke: "#e5e7eb", "stroke-width": 1}));
      svg.appendChild(node("text", {x: L - 4, y: y(max * f) + 3, "text-anchor": "end"}, fmt(max * f)));
    }
    const t0 = Date.parse(opts.start), stepMs = opts.step * 1000;
    svg.appendChild(node("text", {x: L, y: H - 2}, clock(t0)));
    svg.appendChild(node("text", {x: W - R, y: H - 2, "text-anchor": "end"}, clock(t0 + stepMs * n)));
    for (const s of series) {
      if (s.fill) {
        const pts = s.values.map((v, i) => [i, v]).filter(p => p[1] !== null);
        if (pts.length > 1) {
          const area = "M" + x(pts[0][0]) + "," + y(0) + pts.map(p => "L" + x(p[0]) + "," + y(p[1])).join("") +
            "L" + x(pts[pts.length - 1][0]) + "," + y(0) + "Z";
          svg.appendChild(node("path", {d: area, fill: s.color, "fill-opacity": 0.12}));
        }
      }
      svg.appendChild(node("path", {d: path(s.values, x, y), fill: "none", stroke: s.color,
        "stroke-width": 1.8, "stroke-linejoin": "round", "vector-effect": "non-scaling-stroke"}));
    }
    if (!all.length) {
      svg.appendChild(node("text", {x: (L + W) / 2, y: H / 2, "text-anchor": "middle"}, "no data in window"));
    }
    el.replaceChildren(svg);
  }

  /* Horizontal bars, one row per label, the value printed at the bar's end, drawn at its
     natural size (12px text) so that it reads the same in every card:
     FBChart.bars(el, {rows: [{label, value, color, text}], max, format, title, width}) */
  function bars(el, opts) {
    const rows = opts.rows, BW = opts.width || 640, LW = 190, VW = 120, ROW = 22, TOP = 4, AXIS = 16;
    const fmt = opts.format || (v => String(v));
    const max = opts.max || niceMax(Math.max(0, ...rows.map(r => r.value || 0)));
    const plotH = TOP + rows.length * ROW, height = plotH + AXIS;
    const svg = node("svg", {viewBox: `0 0 ${BW} ${height}`, width: BW, height, class: "bars",
      role: "img", "aria-label": opts.title || "bar chart"});
    const span = BW - LW - VW;
    for (const f of [0, 0.25, 0.5, 0.75, 1]) {
      const x = LW + span * f;
      svg.appendChild(node("line", {x1: x, x2: x, y1: 0, y2: plotH, stroke: "#e5e7eb", "stroke-width": 1}));
      svg.appendChild(node("text", {x, y: height - 3, "text-anchor": f === 0 ? "start" : "middle",
        class: "baxis"}, fmt(max * f)));
    }
    rows.forEach((r, i) => {
      const y = TOP + i * ROW;
      const g = node("g", {"data-label": r.label});
      g.appendChild(node("text", {x: LW - 8, y: y + 15, "text-anchor": "end", class: "blabel"}, r.label));
      const has = r.value !== null && r.value !== undefined;
      const w = has ? Math.max(r.value > 0 ? 2 : 0, Math.min(1, r.value / max) * span) : 0;
      g.appendChild(node("rect", {x: LW, y: y + 3, width: w.toFixed(1), height: ROW - 7, rx: 3,
        fill: r.color || "#2563eb"}));
      g.appendChild(node("text", {x: LW + w + 6, y: y + 15, class: "bvalue" + (has ? "" : " bnone")},
        r.text !== undefined ? r.text : has ? fmt(r.value) : "–"));
      svg.appendChild(g);
    });
    el.replaceChildren(svg);
  }

  window.FBChart = {line, bars};
})();
