/* Red-team and chaos pages: poll the results API, show the chosen (default: newest) record
   in detail and every record in a list; a click on a row picks it, without a reload. */
(function () {
  "use strict";
  const {h, api, poll, num, when, empty, table, Missing} = window.FB;

  const pct = v => v === null || v === undefined ? "–" : (v * 100).toFixed(1) + "%";
  const secs = v => v === null || v === undefined ? "–" : num(v) + " s";
  const pass = (ok, yes, no) => h("span", {class: "badge " + (ok ? "b-pass" : "b-fail")}, ok ? yes : no);
  const kpi = (label, value, cls) => h("div", {class: "kpi " + (cls || "")}, h("b", {}, value), h("span", {}, label));
  // Attack success: red when half or more worked, amber from one in ten, green below.
  const risk = rate => rate >= 0.5 ? "#dc2626" : rate >= 0.1 ? "#d97706" : "#16a34a";

  function put(id, ...nodes) {
    const box = document.getElementById(id);
    box.replaceChildren(...[box.querySelector(":scope > h2"), ...nodes].filter(Boolean));
  }

  function chart(rows, opts) {
    const box = h("div", {class: "barchart"});
    FBChart.bars(box, {rows, ...opts});
    return box;
  }

  /* One results page: `list` and `detail` paths, the list's key, and how to draw each. */
  function page(spec) {
    const params = new URLSearchParams(location.search);
    const picked = Number(params.get("id"));
    let chosen = Number.isInteger(picked) && picked > 0 ? picked : null;
    let shownKey = "", seen = null;

    function choose(id) {
      chosen = id;
      history.replaceState(null, "", "?id=" + id);
      shownKey = "";
      draw();
    }

    async function draw() {
      const rows = (await api(spec.list))[spec.key];
      const fresh = new Set(seen ? rows.filter(r => !seen.has(r.id)).map(r => r.id) : []);
      seen = new Set(rows.map(r => r.id));
      const id = chosen ?? rows[0]?.id;
      const listBox = h("table", {class: "list pick"}, h("thead", {}, h("tr", {}, spec.columns.map(c => h("th", {}, c[0])))),
        h("tbody", {}, rows.map(r => h("tr", {class: [r.id === id ? "on" : "", fresh.has(r.id) ? "fresh" : ""].join(" ").trim() || null,
          "data-id": r.id, onclick: () => choose(r.id)}, spec.columns.map(c => h("td", {}, c[1](r)))))));
      put(spec.listBox, rows.length ? listBox : empty(spec.none));
      if (id === undefined) {
        spec.clear();
        return;
      }
      const key = id + ":" + rows.length;
      if (key === shownKey) return;  // nothing new: keep the detail as drawn
      let record;
      try { record = await api(spec.detail + id); }
      catch (e) {
        if (!(e instanceof Missing) || chosen === null) throw e;
        chosen = null;  // a stale link (?id= of a record that is not here): show the newest
        history.replaceState(null, "", location.pathname);
        return draw();
      }
      spec.show(record);
      shownKey = key;
    }
    poll(draw, 3000);
  }

  /* Red team */

  function tallyTable(tallies) {
    const rows = Object.entries(tallies).map(([name, t]) => ({name, ...t}))
      .sort((a, b) => b.success_rate - a.success_rate || a.name.localeCompare(b.name));
    if (!rows.length) return [empty("No attacks in this group.")];
    return [
      chart(rows.map(r => ({label: r.name, value: r.success_rate, color: risk(r.success_rate),
        text: `${pct(r.success_rate)}  (${r.successes}/${r.attempts})`})), {max: 1, format: v => Math.round(v * 100) + "%", title: "attack success rate"}),
      table([["", r => h("code", {}, r.name)], ["Attempts", r => r.attempts], ["Worked", r => r.successes],
        ["Success rate", r => h("b", {class: r.success_rate >= 0.5 ? "bad" : ""}, pct(r.success_rate))],
        ["Blocked", r => r.blocked], ["Errors", r => r.errors]], rows)];
  }

  function showCampaign(c) {
    document.getElementById("rt-head").textContent =
      `campaign #${c.id} · suite ${c.suite} · target ${c.target} · finished ${when(c.finished_at)}`;
    const seconds = (Date.parse(c.finished_at) - Date.parse(c.started_at)) / 1000;
    put("rt-campaign", h("div", {class: "kpis wide", "data-campaign": c.id},
      kpi("attack success", pct(c.success_rate), c.success_rate >= 0.5 ? "bad" : c.success_rate >= 0.1 ? "warn" : "good"),
      kpi("attacks that worked", `${c.successes} / ${c.attack_attempts}`),
      kpi("blocked by the guard", c.blocked),
      kpi("benign answered", c.benign_attempts ? `${c.benign_answered} / ${c.benign_attempts} (${pct(c.benign_answered_rate)})` : "–",
        c.benign_attempts && c.benign_answered_rate < 0.9 ? "warn" : ""),
      kpi("errors", c.errors), kpi("took", secs(seconds))));
    put("rt-categories", ...tallyTable(c.per_category));
    put("rt-converters", ...tallyTable(c.per_converter));
    // One example per category that worked: the list stays short and covers every finding.
    const worked = c.probes.filter(p => p.outcome === "success");
    const examples = [...new Map(worked.slice().reverse().map(p => [p.attack, p])).values()]
      .sort((a, b) => a.attack.localeCompare(b.attack));
    const cut = t => t && t.length > 160 ? t.slice(0, 160) + "…" : t || "";
    put("rt-probes", worked.length ? h("p", {class: "muted"},
      `${worked.length} attacks worked, in ${examples.length} categories; one example of each:`) : null,
    worked.length ? table([["Category", p => h("code", {}, p.attack)], ["Probe", p => p.id],
      ["Converter", p => p.converter], ["Why it counts", p => h("span", {class: "reason"}, p.reason)],
      ["Answer", p => h("span", {class: "answer"}, cut(p.response))]], examples)
      : empty("No attack worked in this campaign."));
  }

  /* Chaos */

  function showRun(r) {
    document.getElementById("ch-head").textContent =
      `run #${r.id} · profile ${r.profile} · finished ${when(r.finished_at)}`;
    const sc = r.scenarios;
    put("ch-run", h("div", {class: "kpis wide", "data-run": r.id},
      h("div", {class: "kpi"}, pass(r.passed, "PASSED", "FAILED"), h("span", {}, "result")),
      kpi("scenarios passed", `${r.scenarios_passed} / ${r.scenario_count}`, r.scenarios_passed === r.scenario_count ? "good" : "bad"),
      kpi("false incidents in warm-up", r.false_incident_count, r.false_incident_count ? "bad" : "good"),
      kpi("median time to detect", secs(r.median_time_to_detect_s)),
      kpi("median time to contain", secs(r.median_time_to_contain_s)),
      kpi("warm-up", secs(r.warmup_seconds))),
    table([
      ["Scenario", s => h("span", {}, h("b", {}, s.scenario), h("br"), h("span", {class: "muted"}, s.title || ""))],
      ["Detected", s => pass(s.detected, "yes", "no")],
      ["Category", s => s.category ? h("span", {}, pass(s.category_right, "right", "wrong"), " ", h("code", {}, s.category)) : "–"],
      ["Time to detect", s => secs(s.time_to_detect_s)],
      ["Events", s => s.events_to_detect ?? "–"],
      ["Time to contain", s => secs(s.time_to_contain_s)],
      ["Containment", s => s.detected ? pass(s.containment_right, "right", "wrong") : "–"],
      ["Notified", s => s.notifications],
      ["Report", s => pass(s.report_written, "written", "missing")],
      ["Incident", s => s.incident_id ? h("a", {href: "/ui/incidents/" + encodeURIComponent(s.incident_id)}, s.incident_id) : h("span", {class: "muted"}, s.note || "–")],
      ["Result", s => pass(s.passed, "pass", "fail")]], sc),
    r.false_incidents.length ? h("p", {class: "error"}, "Opened during the clean warm-up: ",
      r.false_incidents.map((id, i) => [i ? ", " : "", h("a", {href: "/ui/incidents/" + encodeURIComponent(id)}, id)])) : null);
    put("ch-ttd", sc.length ? chart(sc.map(s => ({label: s.scenario, value: s.time_to_detect_s,
      color: s.passed ? "#16a34a" : "#dc2626",
      text: s.time_to_detect_s === null || s.time_to_detect_s === undefined ? "not detected"
        : `${num(s.time_to_detect_s)} s` + (s.events_to_detect !== null && s.events_to_detect !== undefined ? ` · ${s.events_to_detect} events` : "")})),
    {format: v => num(v) + " s", title: "time to detect (s)", width: 960}) : empty("No scenario in this run."));
  }

  const PAGES = {
    redteam: () => page({
      list: "/v1/redteam/campaigns?limit=50", key: "campaigns", detail: "/v1/redteam/campaigns/",
      listBox: "rt-campaigns", show: showCampaign, none: "No red-team campaign recorded yet. Run `firebreak redteam run --record`.",
      clear: () => {
        put("rt-campaign", empty("No red-team campaign recorded yet. Run `firebreak redteam run --target ... --record` on this server's settings, or POST one to /v1/redteam/campaigns."));
        for (const id of ["rt-categories", "rt-converters", "rt-probes"]) put(id, empty("Nothing yet."));
      },
      columns: [["#", c => c.id], ["Suite", c => c.suite], ["Target", c => h("code", {}, c.target)],
        ["Attacks", c => c.attack_attempts], ["Success rate", c => h("b", {class: c.success_rate >= 0.5 ? "bad" : ""}, pct(c.success_rate))],
        ["Benign answered", c => c.benign_attempts ? `${c.benign_answered}/${c.benign_attempts}` : "–"],
        ["By", c => h("span", {class: "muted"}, c.recorded_by)], ["Finished", c => when(c.finished_at)]],
    }),
    chaos: () => page({
      list: "/v1/chaos/runs?limit=50", key: "runs", detail: "/v1/chaos/runs/",
      listBox: "ch-runs", show: showRun, none: "No chaos run recorded yet.",
      clear: () => {
        put("ch-run", empty("No chaos run recorded yet. `firebreak chaos run --all --record` (or `make demo`) records one."));
        put("ch-ttd", empty("Nothing yet."));
      },
      columns: [["#", r => r.id], ["Profile", r => r.profile], ["Result", r => pass(r.passed, "PASSED", "FAILED")],
        ["Scenarios passed", r => `${r.scenarios_passed}/${r.scenario_count}`],
        ["False incidents", r => r.false_incident_count],
        ["Median detect", r => secs(r.median_time_to_detect_s)], ["Median contain", r => secs(r.median_time_to_contain_s)],
        ["By", r => h("span", {class: "muted"}, r.recorded_by)], ["Finished", r => when(r.finished_at)]],
    }),
  };

  document.addEventListener("DOMContentLoaded", () => PAGES[document.body.dataset.page]?.());
})();
