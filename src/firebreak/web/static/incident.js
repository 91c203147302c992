/* Incident page: head, timeline, actions (approve / deny), guard policy, evidence, findings, report. */
(function () {
  "use strict";
  const {h, api, poll, badge, num, when, empty, Missing} = window.FB;
  const id = document.body.dataset.incident;
  const base = "/v1/incidents/" + encodeURIComponent(id);
  let lastPolicy = "";

  // Replace a section's content, keeping its heading.
  function put(sectionId, ...nodes) {
    const box = document.getElementById(sectionId);
    box.replaceChildren(...[box.querySelector(":scope > h2"), ...nodes].filter(Boolean));
  }

  function head(inc) {
    const tax = inc.taxonomy || {};
    document.getElementById("incident-head").replaceChildren(
      h("div", {}, h("h1", {}, inc.title),
        h("div", {class: "meta"}, badge("sev", inc.severity), badge("st", inc.status),
          h("span", {}, "deployment ", h("b", {}, inc.deployment)), h("code", {}, inc.category),
          ...[...new Set([].concat(tax.owasp || [], tax.atlas || []))].map(x => h("code", {class: "tax"}, String(x))),
          h("span", {class: "muted", title: inc.opened_at}, "opened " + when(inc.opened_at)),
          h("code", {class: "muted"}, inc.id))));
  }

  function timeline(entries) {
    put("timeline", entries.length ? h("ol", {class: "timeline"}, entries.map(t => h("li", {},
      h("span", {class: "ts", title: t.ts}, new Date(t.ts).toLocaleTimeString()),
      h("span", {class: "kind"}, t.kind), h("span", {}, t.message, h("span", {class: "muted"}, " — " + t.actor)))))
      : empty("Nothing on the timeline yet."));
  }

  function blocks(label, list) {
    if (!list || !list.length) return [];
    return [h("dt", {}, label), h("dd", {}, list.map(b => h("div", {}, h("code", {}, b.value || b.to || b.key || JSON.stringify(b)),
      b.expires_at ? h("span", {class: "muted"}, " until " + new Date(b.expires_at).toLocaleTimeString()) : null)))];
  }

  function policy(policies, changes) {
    const key = JSON.stringify(policies);
    const nodes = policies.map(p => h("div", {class: "policy-block", "data-policy": p.deployment},
      h("h3", {}, p.deployment === "*" ? "All deployments" : p.deployment),
      h("dl", {class: "kv"},
        h("dt", {}, "version"), h("dd", {class: "policy-version"}, String(p.version)),
        h("dt", {}, "mode"), h("dd", {class: "policy-mode mode-" + p.mode}, p.mode),
        h("dt", {}, "kill switch"), h("dd", {class: "policy-kill" + (p.kill_switch ? " mode-strict" : "")}, p.kill_switch ? "ON" : "off"),
        ...blocks("blocked keys", p.blocked_api_keys), ...blocks("blocked users", p.blocked_users),
        ...blocks("blocked IPs", p.blocked_ips), ...blocks("quarantined", p.quarantined_sources),
        ...(p.rate_limits.length ? [h("dt", {}, "rate limits"), h("dd", {}, p.rate_limits.map(r =>
          h("div", {}, `${r.scope} ${r.key}: ${r.rate}/s`)))] : []),
        ...(p.routes.length ? [h("dt", {}, "routes"), h("dd", {}, p.routes.map(r =>
          h("div", {}, `${r.model || r.upstream} ×${r.weight}`)))] : []),
        h("dt", {}, "updated"), h("dd", {}, when(p.updated_at)))));
    if (changes.length) nodes.push(h("h3", {class: "changes"}, "Changes by this incident"),
      h("ul", {}, changes.map(c => h("li", {}, `v${c.version} · ${c.actor}: ${c.reason || "change"}`))));
    put("policy", ...nodes);
    if (lastPolicy && lastPolicy !== key) document.getElementById("policy").classList.add("changed");
    lastPolicy = key;
  }

  async function decide(runId, stepId, verb, button) {
    button.disabled = true;
    try {
      await api(`/v1/runs/${encodeURIComponent(runId)}/steps/${encodeURIComponent(stepId)}/${verb}`,
        {method: "POST", body: JSON.stringify({comment: `${verb} from the dashboard`})});
    } catch (e) { alert(`Could not ${verb}: ${e.message}`); button.disabled = false; }
  }

  function step(run, s) {
    const runId = run.id, stepId = s.step_key;
    const waiting = s.status === "waiting" && (s.approval || !s.action);
    return h("li", {class: waiting ? "awaiting" : null, "data-step": stepId},
      badge("st", s.status || "pending"), h("span", {class: "grow"}, h("b", {}, stepId),
        " ", h("span", {class: "muted"}, s.action || (s.approval ? `approval by ${s.approval.role || "on-call"}` : "")),
        s.decided_by ? h("span", {class: "muted"}, ` · decided by ${s.decided_by}`) : null,
        s.error ? h("span", {class: "error"}, " " + s.error) : null),
      waiting ? h("button", {class: "btn approve", onclick: e => decide(runId, stepId, "approve", e.target)}, "Approve") : null,
      waiting ? h("button", {class: "btn deny", onclick: e => decide(runId, stepId, "deny", e.target)}, "Deny") : null);
  }

  function actions(runs) {
    put("actions", ...(runs.length ? runs.map(r => h("div", {class: "run", "data-run": r.id},
      h("h3", {}, `${r.playbook} · `, badge("st", r.status), r.dry_run ? " (dry run)" : ""),
      h("ul", {class: "steps"}, r.steps.map(s => step(r, s)))))
      : [empty("No playbook run for this incident (yet).")]));
  }

  function alertsAndEvidence(data) {
    put("evidence", ...(data.evidence.length ? [h("ul", {class: "plain"}, data.evidence.map(e =>
      h("li", {}, h("code", {title: e.blob_sha256}, e.id.slice(0, 12)), " ", h("b", {}, e.kind), " ",
        e.label || "", h("span", {class: "muted"}, " · " + when(e.ts)))))] : [empty("No evidence captured yet.")]));
    const alertList = document.getElementById("alerts-list");
    alertList.replaceChildren(...(data.alerts.length ? data.alerts.map(a => h("li", {},
      badge("st", a.status), " ", h("b", {}, a.name), " ", h("code", {}, a.category),
      a.value !== null ? h("span", {class: "muted"}, " value " + num(a.value)) : null))
      : [h("li", {class: "empty"}, "No alerts grouped into this incident.")]));
  }

  // Findings come from the forensic report (computed on request), so poll it slowly.
  async function forensics() {
    let report;
    try { report = await api(base + "/report?format=json"); }
    catch (e) {
      if (!(e instanceof Missing)) throw e;
      put("report", empty("Reports are not enabled on this server."));
      return document.getElementById("findings-list").replaceChildren(empty("Root-cause analysis is not enabled on this server."));
    }
    const findings = report.findings || [];
    document.getElementById("findings-list").replaceChildren(findings.length ? h("ul", {class: "plain"}, findings.map(f =>
      h("li", {}, h("b", {}, f.title), " ", h("span", {class: "muted"}, `${f.kind} · confidence ${Math.round(f.confidence * 100)}%`),
        h("div", {class: "muted"}, f.summary)))) : empty("No findings yet."));
    put("report", h("a", {href: base + "/report?format=html", target: "_blank", rel: "noopener"}, "Open the forensic report"),
      " · ", h("a", {href: base + "/report?format=md"}, "Markdown"), " · ", h("a", {href: base + "/report?format=json"}, "JSON"));
  }

  document.addEventListener("DOMContentLoaded", () => {
    poll(async () => {
      const data = await api("/ui/api/incidents/" + encodeURIComponent(id));
      head(data.incident); timeline(data.timeline); policy(data.policies, data.policy_changes);
      actions(data.runs);
      alertsAndEvidence(data);
    });
    poll(forensics, 10000);
  });
})();
