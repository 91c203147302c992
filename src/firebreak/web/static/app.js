/* Firebreak dashboard: polls same-origin JSON and redraws in place (no full reloads). */
(function () {
  "use strict";
  const POLL_MS = 2000;

  // h("tr", {class: "x"}, child, "text") -> element; text is always set as text, never HTML.
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v); else el.setAttribute(k, v);
    }
    for (const kid of kids.flat()) {
      if (kid === null || kid === undefined) continue;
      el.append(kid instanceof Node ? kid : String(kid));
    }
    return el;
  }

  class Missing extends Error {}

  // GET or POST same-origin JSON with the session cookie; a 404 means "that part is not here yet".
  async function api(path, init) {
    const resp = await fetch(path, {credentials: "same-origin", headers: {"Accept": "application/json",
      "Content-Type": "application/json"}, ...(init || {})});
    if (resp.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname); }
    if (resp.status === 404 || resp.status === 405) throw new Missing(path);
    const body = resp.headers.get("content-type")?.includes("json") ? await resp.json() : await resp.text();
    if (!resp.ok) throw new Error((body && (body.detail || body.title)) || resp.statusText);
    return body;
  }

  function items(data, ...keys) {
    if (Array.isArray(data)) return data;
    for (const k of [...keys, "items", "data", "results"]) if (Array.isArray(data?.[k])) return data[k];
    return [];
  }

  function poll(fn, ms) {
    const live = document.getElementById("live");
    const tick = async () => {
      try { await fn(); live?.classList.remove("stale"); }
      catch (e) { live?.classList.add("stale"); console.warn(e); }
      setTimeout(tick, ms || POLL_MS);
    };
    tick();
  }

  const badge = (prefix, v) => h("span", {class: `badge ${prefix}-${v}`}, v);
  const pct = v => v === null || v === undefined ? "–" : (v * 100).toFixed(v < 0.1 ? 1 : 0) + "%";
  const num = v => v === null || v === undefined ? "–"
    : (Math.abs(v) >= 100 ? Math.round(v) : +v.toFixed(Math.abs(v) >= 10 ? 1 : 2));
  function when(iso) {
    if (!iso) return "–";
    const d = new Date(iso), s = (Date.now() - d) / 1000;
    if (s < 60) return Math.max(0, Math.round(s)) + "s ago";
    if (s < 3600) return Math.round(s / 60) + "m ago";
    return d.toLocaleString([], {month: "short", day: "numeric", hour: "2-digit", minute: "2-digit"});
  }
  const empty = text => h("p", {class: "empty"}, text);

  /* Overview: one card per deployment with six health charts. */
  const CHARTS = [
    ["Traffic", "calls/min", h => [{values: h.series.traffic, color: "#2563eb", fill: true}], num, "traffic"],
    ["Latency", "p50 / p95 ms", h => [{values: h.series.latency_p50, color: "#93c5fd"},
      {values: h.series.latency_p95, color: "#1d4ed8"}], num, "latency_p95"],
    ["Error rate", "", h => [{values: h.series.error_rate, color: "#dc2626", fill: true}], pct, "error_rate"],
    ["Injection rate", "", h => [{values: h.series.injection_rate, color: "#ea580c", fill: true}], pct, "injection_rate"],
    ["Ungrounded answers", "", h => [{values: h.series.ungrounded_rate, color: "#7c3aed", fill: true}], pct, "ungrounded_rate"],
    ["Drift", "score", h => [{values: h.series.drift, color: "#0d9488"}], num, "drift"],
  ];

  function lastValue(values) {
    for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null) return values[i];
    return null;
  }

  function deploymentCard(d) {
    const hl = d.health, t = hl.totals;
    const kpi = (label, v) => h("div", {class: "kpi"}, h("b", {}, v), h("span", {}, label));
    const charts = CHARTS.map(([title, unit, pick, fmt, key]) => {
      const box = h("div", {class: "chart", "data-metric": key});
      const plot = h("div");
      box.append(h("div", {class: "ctitle"}, h("span", {}, title, unit ? h("span", {class: "muted"}, " · " + unit) : null),
        h("span", {class: "cval"}, fmt(lastValue(hl.series[key])))), plot);
      const opts = {series: pick(hl), start: hl.start, step: hl.step_seconds, format: fmt};
      if (fmt === pct) Object.assign(opts, {floor: 0.05, cap: 1});
      FBChart.line(plot, opts);
      return box;
    });
    return h("section", {class: "card deployment", "data-deployment": d.name},
      h("div", {class: "dhead"}, h("h2", {}, d.name),
        h("span", {class: "muted"}, (d.model_versions || []).join(", ")),
        d.open_incidents ? h("a", {href: "/ui/incidents?deployment=" + encodeURIComponent(d.name)},
          h("span", {class: "badge st-detected"}, d.open_incidents + " open")) : h("span", {class: "badge st-resolved"}, "healthy"),
        h("div", {class: "kpis"}, kpi("calls", t.calls), kpi("p95 ms", num(t.latency_p95)),
          kpi("errors", pct(t.error_rate)), kpi("injection", pct(t.injection_rate)),
          kpi("ungrounded", pct(t.ungrounded_rate)), kpi("last event", when(d.last_seen)))),
      h("div", {class: "charts"}, charts));
  }

  function overview() {
    const sel = document.getElementById("window");
    const draw = async () => {
      const data = await api("/ui/api/overview?window=" + sel.value);
      const strip = document.getElementById("open-incidents");
      strip.replaceChildren(...data.open_incidents.map(i => h("a", {class: "pill", href: "/ui/incidents/" + i.id},
        badge("sev", i.severity), badge("st", i.status), i.title)));
      const box = document.getElementById("deployments");
      box.replaceChildren(...(data.deployments.length ? data.deployments.map(deploymentCard)
        : [empty("No deployment has sent telemetry yet. Send events to /v1/events or put the gateway in front of a model.")]));
    };
    sel.addEventListener("change", draw);
    poll(draw, 3000);
  }

  /* Incidents list with filters; rows that appear while watching are highlighted. */
  function incidentsPage() {
    const form = document.getElementById("filters"), seen = new Set();
    let first = true;
    const params = new URLSearchParams(location.search);
    for (const el of form.elements) if (params.get(el.name)) el.value = params.get(el.name);
    const draw = async () => {
      const q = new URLSearchParams([...new FormData(form)].filter(([, v]) => v));
      history.replaceState(null, "", q.toString() ? "?" + q : location.pathname);
      const data = await api("/ui/api/incidents?" + q);
      document.getElementById("count").textContent = data.count + " incident" + (data.count === 1 ? "" : "s");
      const rows = data.incidents.map(i => {
        const fresh = !first && !seen.has(i.id);
        seen.add(i.id);
        return h("tr", {class: fresh ? "fresh" : null, "data-incident": i.id},
          h("td", {}, badge("sev", i.severity)), h("td", {}, badge("st", i.status)),
          h("td", {}, h("a", {href: "/ui/incidents/" + i.id}, i.title)),
          h("td", {}, i.deployment), h("td", {}, h("code", {}, i.category)),
          h("td", {title: i.opened_at}, when(i.opened_at)));
      });
      first = false;
      document.querySelector("#incidents tbody").replaceChildren(...(rows.length ? rows
        : [h("tr", {}, h("td", {colspan: 6, class: "empty"}, "No incidents match. Quiet is good."))]));
    };
    form.addEventListener("input", draw);
    form.addEventListener("submit", e => { e.preventDefault(); draw(); });
    poll(draw);
  }

  function table(cols, rows) {
    return h("table", {class: "list"}, h("thead", {}, h("tr", {}, cols.map(c => h("th", {}, c[0])))),
      h("tbody", {}, rows.map(r => h("tr", {}, cols.map(c => h("td", {}, c[1](r)))))));
  }

  // A section fed by another part's API; until that part exists it says so plainly.
  function feed(id, path, keys, cols, missingText, emptyText) {
    poll(async () => {
      const box = document.getElementById(id), title = box.querySelector("h2");
      let body;
      try { const rows = items(await api(path), ...keys); body = rows.length ? table(cols, rows) : empty(emptyText); }
      catch (e) { if (!(e instanceof Missing)) throw e; body = empty(missingText); }
      box.replaceChildren(...[title, body].filter(Boolean));
    }, 5000);
  }

  const matcher = m => `${m.name}${m.isRegex ? (m.isEqual === false ? "!~" : "=~") : (m.isEqual === false ? "!=" : "=")}"${m.value}"`;
  const link = r => r.incident_id ? h("a", {href: "/ui/incidents/" + r.incident_id}, r.incident_id) : "–";
  const PAGES = {
    overview,
    incidents: incidentsPage,
    runs: () => feed("runs", "/ui/api/runs", ["runs"], [
      ["Run", r => h("code", {}, r.id)], ["Playbook", r => r.playbook], ["Incident", link],
      ["Status", r => badge("st", r.status)],
      ["Steps", r => r.steps.map(s => h("span", {title: s.step_key}, badge("st", s.status), " "))],
      ["Started", r => when(r.created_at)]],
      "Playbook runs appear here once the playbook engine is enabled on this server.", "No playbook runs yet."),
    silences: () => feed("silences", "/ui/api/silences", ["silences"], [
      ["Matchers", r => (r.matchers || []).map(m => [h("code", {}, matcher(m)), " "])],
      ["Created by", r => r.created_by || "–"], ["Comment", r => r.comment || ""],
      ["Starts", r => when(r.starts_at)], ["Ends", r => when(r.ends_at)], ["State", r => badge("st", r.state)]],
      "Silences appear here once alerting is enabled on this server.", "No silences."),
  };

  window.FB = {h, api, items, poll, badge, pct, num, when, empty, table, Missing};
  document.addEventListener("DOMContentLoaded", () => PAGES[document.body.dataset.page]?.());
})();
