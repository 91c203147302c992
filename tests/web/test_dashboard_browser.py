"""The dashboard in real headless Chromium: log in, watch an incident arrive, act on it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from firebreak.runtime import Runtime

pytestmark = pytest.mark.browser


def login(page: Any, url: str, token: str, target: str) -> None:
    page.goto(url + target)
    assert "/login" in page.url
    page.fill("#token", "fbk_wrong")
    page.click("button[type=submit]")
    page.wait_for_selector(".error")
    assert "invalid" in page.inner_text(".error")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url(url + target)


def shot(page: Any, path: Path) -> None:
    """A screenshot as tall as the content (no empty band below it)."""
    page.set_viewport_size({"width": 1440, "height": 400})
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": 1440, "height": 900})


def history(db: Any, fb: Any) -> None:
    """Earlier incidents, so the list looks like a real week."""
    fb.open_incident(db, "credit-risk", category="data_drift", severity="SEV3", status="resolved",
                     title="Feature drift on income and employment_length", age=timedelta(days=2))
    fb.open_incident(db, "support-bot", category="hallucination", severity="SEV4",
                     status="contained", title="Ungrounded answers about refund policy",
                     age=timedelta(hours=5))


def test_incident_appears_live_and_policy_change_shows(
        page: Any, live_api: tuple[str, Runtime], client: httpx.Client,
        admin_headers: dict[str, str], fb: Any, shots: Path) -> None:
    url, runtime = live_api
    db = runtime.db
    history(db, fb)
    fb.ingest(client, db, fb.traffic("support-bot", 120, minutes=14, inject_every=9,
                                     ungrounded_every=13, error_every=25))
    fb.ingest(client, db, fb.traffic("credit-risk", 60, minutes=14, api_key="key-2"))
    login(page, url, admin_headers["Authorization"].split()[1], "/ui/incidents")
    page.wait_for_selector("#count:text-is('2 incidents')")
    page.evaluate("window.__sameDocument = true")

    # Traffic turns hostile and the WAF's alert arrives as a telemetry event: the
    # incidents stage opens an incident, and the page shows it without a reload.
    alert = fb.external_alert("support-bot", "injection-spike", "prompt_injection",
                              summary="Injection verdicts on 50% of calls from key-9")
    assert fb.ingest(client, db, [*fb.traffic("support-bot", 40, minutes=1, inject_every=2,
                                              api_key="key-9"), alert]) == "api"
    row = page.wait_for_selector("tr.fresh[data-incident]", timeout=30_000)
    incident_id = row.get_attribute("data-incident")
    text = row.inner_text()
    assert "prompt_injection" in text and ("detected" in text or "contained" in text)
    assert page.evaluate("window.__sameDocument") is True
    page.select_option("select[name=status]", "resolved")
    page.wait_for_selector("#count:text-is('1 incident')")
    page.select_option("select[name=status]", "")
    page.wait_for_selector(f"tr[data-incident='{incident_id}']")
    shot(page, shots / "dashboard-incidents.png")

    page.goto(url + "/ui")
    page.wait_for_selector("section.deployment[data-deployment='support-bot']")
    with page.expect_response(lambda r: "window=15m" in r.url):
        page.select_option("#window", "15m")
    card = page.wait_for_selector("section.deployment[data-deployment='support-bot']")
    page.wait_for_selector(
        "[data-deployment='support-bot'] .chart[data-metric=injection_rate] path[stroke]")
    assert "2 open" in card.inner_text()  # the new one and the contained hallucination
    shot(page, shots / "dashboard-overview.png")

    page.click(f".strip a[href='/ui/incidents/{incident_id}']")
    page.wait_for_selector("#alerts-list li:has-text('injection-spike')")
    # The built-in contain-prompt-injection playbook runs to the end: guard goes strict.
    page.wait_for_selector("#actions .run h3 .badge:text-is('succeeded')", timeout=30_000)
    page.wait_for_selector("[data-policy='support-bot'] .policy-mode:text-is('strict')")
    before = int(page.inner_text("[data-policy='support-bot'] .policy-version"))
    page.evaluate("window.__sameDocument = true")
    # The on-call engineer blocks the attacking key through the policy API; the page follows.
    change = client.patch("/v1/policy/support-bot", json={
        "ops": [{"op": "block", "kind": "api_key", "value": "key-9", "reason": "injection"}],
        "reason": "block the attacking key", "incident_id": incident_id})
    assert change.status_code == 200, change.text
    page.wait_for_selector(f"[data-policy='support-bot'] .policy-version:text-is('{before + 1}')")
    assert "key-9" in page.inner_text("[data-policy='support-bot']")
    assert "block the attacking key" in page.inner_text("#policy")
    assert page.evaluate("window.__sameDocument") is True
    shot(page, shots / "dashboard-incident.png")


def _playbooks_wired(client: httpx.Client) -> bool:
    from firebreak.runtime import STAGES

    paths = client.get("/openapi.json").json()["paths"]
    return ("/v1/runs/{run_id}/steps/{step_id}/approve" in paths
            and any(s.startswith("firebreak.playbooks.") for s in STAGES))


def test_approving_a_step_changes_the_guard_policy(
        page: Any, live_api: tuple[str, Runtime], client: httpx.Client,
        admin_headers: dict[str, str], fb: Any, shots: Path) -> None:
    url, runtime = live_api
    if not _playbooks_wired(client):
        pytest.skip("the playbook engine and its /v1/runs routes are not in this build yet")
    login(page, url, admin_headers["Authorization"].split()[1], "/ui/incidents")
    # An agent starts acting on its own; the built-in contain-excessive-agency playbook
    # goes strict at once and asks an agent owner before flipping the kill switch.
    alert = fb.external_alert("support-bot", "agent-tool-abuse", "excessive_agency",
                              summary="Agent issued 40 refunds in a minute")
    fb.ingest(client, runtime.db, [alert])
    row = page.wait_for_selector("tr[data-incident]", timeout=30_000)
    row.query_selector("a").click()
    page.wait_for_selector("#actions li.awaiting button.approve", timeout=30_000)
    page.wait_for_selector("[data-policy='support-bot'] .policy-mode:text-is('strict')")
    assert page.inner_text("[data-policy='support-bot'] .policy-kill") == "off"
    page.evaluate("window.__sameDocument = true")
    shot(page, shots / "dashboard-approval.png")
    page.click("#actions li.awaiting button.approve")
    page.wait_for_selector("#actions li[data-step] .badge:text-is('approved')", timeout=30_000)
    page.wait_for_selector("[data-policy='support-bot'] .policy-kill:text-is('ON')", timeout=30_000)
    assert page.evaluate("window.__sameDocument") is True
    shot(page, shots / "dashboard-approved.png")


# The fast-profile scorecard measured in docs/benchmarks.md (22:00 UTC run): time to detect,
# events to detect, time to contain per scenario.
MEASURED = {"feature-drift": (4.2, 129, 0.48), "concept-drift": (7.3, 217, 0.27),
            "hallucination-spike": (4.5, 67, 0.04), "jailbreak-wave": (4.5, 69, 0.04),
            "injection-campaign": (0.8, 11, 0.06), "rag-poisoning": (4.8, 84, 0.03),
            "training-poisoning": (1.4, 43, 0.46), "system-prompt-leak": (2.8, 42, 0.07),
            "pii-leak": (4.9, 72, 0.06), "bad-version": (4.2, 60, 0.03),
            "denial-of-wallet": (4.6, 52, 0.20), "unsafe-tool-use": (7.1, 120, 0.10)}


def measured_scorecard(missed: str | None = None) -> dict[str, Any]:
    """That scorecard with the scenarios' own names and categories; `missed` not detected."""
    from firebreak.chaos.runner import Score, Scorecard
    from firebreak.chaos.scenarios import SCENARIOS

    scores = []
    for n, (name, (ttd, events, ttc)) in enumerate(MEASURED.items()):
        sc = SCENARIOS[name]
        if name == missed:
            scores.append(Score(name, sc.title, sc.category, note="no incident within 60s"))
            continue
        scores.append(Score(name, sc.title, sc.category, detected=True,
                            incident_id=f"inc-demo{n:02d}", category=sc.category,
                            category_right=True, severity="SEV2", time_to_detect_s=ttd,
                            events_to_detect=events, time_to_contain_s=ttc, contained=True,
                            containment_right=True, actions=list(sc.containment),
                            notifications=2, report_written=True, passed=True))
    return Scorecard("fast", 24.0, [], scores, {"chat:200": 9000, "predict:200": 9000}).to_dict()


def test_redteam_and_chaos_pages_show_recorded_results(
        page: Any, live_api: tuple[str, Runtime], client: httpx.Client,
        admin_headers: dict[str, str], shots: Path) -> None:
    from datetime import UTC, datetime

    from firebreak.chaos.record import chaos_run_from, record_scorecard
    from firebreak.chaos.responder import create_app
    from firebreak.chaos.servers import ServerThread
    from firebreak.redteam.record import record_report
    from firebreak.redteam.report import summarise
    from firebreak.redteam.runner import Runner
    from firebreak.redteam.suites import resolve
    from firebreak.redteam.targets import resolve_target

    url, runtime = live_api
    # A real campaign: the built-in suite against the reference responder, unguarded.
    with ServerThread(create_app()) as srv:
        target = resolve_target(srv.url, model="lumen-support-1", key=None, rag_hook=None,
                                gateway_url=None)
        report = summarise(Runner(target).run(resolve("owasp-llm")))
    campaign = record_report(runtime.db, report, recorded_by="cli:redteam")
    login(page, url, admin_headers["Authorization"].split()[1], "/ui/redteam")
    page.wait_for_selector(f"#rt-campaign [data-campaign='{campaign.id}']")
    kpis = page.inner_text("#rt-campaign")
    assert f"{campaign.successes} / {campaign.attack_attempts}" in kpis
    assert f"{campaign.benign_answered} / {campaign.benign_attempts}" in kpis
    for box, groups in (("#rt-categories", campaign.per_category),
                        ("#rt-converters", campaign.per_converter)):
        assert page.locator(f"{box} svg.bars g[data-label]").count() == len(groups)
        assert page.locator(f"{box} table tbody tr").count() == len(groups)
    assert "direct-injection" in page.inner_text("#rt-categories")
    assert "base64" in page.inner_text("#rt-converters")
    worked = {k for k, t in campaign.per_category.items() if t.successes}
    assert page.locator("#rt-probes tbody tr").count() == len(worked)  # one example each
    shot(page, shots / "dashboard-redteam.png")

    record_scorecard(runtime.db, measured_scorecard(), datetime.now(UTC))
    page.click("nav a[href='/ui/chaos']")
    page.wait_for_selector("#ch-run .kpi .badge:text-is('PASSED')")
    assert page.locator("#ch-run table tbody tr").count() == 12
    assert page.locator("#ch-ttd svg.bars g[data-label]").count() == 12
    assert "12 / 12" in page.inner_text("#ch-run")
    page.evaluate("window.__sameDocument = true")
    # A new run arrives through the API while the page is open: it shows without a reload.
    posted = client.post("/v1/chaos/runs", json=chaos_run_from(
        measured_scorecard(missed="denial-of-wallet"), datetime.now(UTC)).model_dump(mode="json"))
    assert posted.status_code == 201, posted.text
    page.wait_for_selector(f"#ch-run [data-run='{posted.json()['id']}']")
    page.wait_for_selector("#ch-runs tr.fresh")
    assert page.evaluate("window.__sameDocument") is True
    assert "11 / 12" in page.inner_text("#ch-run")
    assert "not detected" in page.text_content("#ch-ttd g[data-label='denial-of-wallet']")
    assert page.locator("#ch-run tbody .badge:text-is('fail')").count() == 1
    shot(page, shots / "dashboard-chaos.png")
    page.click("#ch-runs tbody tr:nth-child(2)")  # back to the earlier, all-passing run
    page.wait_for_selector("#ch-run .kpi .badge:text-is('PASSED')")
    assert page.url.endswith("?id=1")
    page.goto(url + "/ui/chaos?id=999")  # a stale link falls back to the newest run
    page.wait_for_selector(f"#ch-run [data-run='{posted.json()['id']}']")
