"""deploy/: the Grafana dashboard and Prometheus rules use only metrics we export, and parse."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from firebreak import metrics as fm

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SUFFIXES = ("_bucket", "_count", "_sum", "_total")


def _exported() -> set[str]:
    return {m.describe()[0].name for m in vars(fm).values() if isinstance(m, MetricWrapperBase)}


def _family(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def _grafana_exprs() -> list[str]:
    dash = json.loads((DEPLOY / "grafana" / "firebreak.json").read_text())
    return [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]


def test_grafana_dashboard_covers_every_metric_and_names_only_real_ones() -> None:
    exprs = _grafana_exprs()
    used = {_family(n) for e in exprs for n in re.findall(r"firebreak_\w+", e)}
    assert used - _exported() == set()
    missing = _exported() - used
    assert missing == set(), f"no Grafana panel for {missing}: add one in deploy/grafana/build.py"


def test_grafana_and_alert_queries_are_valid_promql(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool (Debian package prometheus) is not installed")
    rules = [{"record": f"firebreak:check_{i}",
              "expr": e.replace("$__rate_interval", "5m").replace("$job", ".*")}
             for i, e in enumerate(_grafana_exprs())]
    path = tmp_path / "grafana-rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "grafana", "rules": rules}]}))
    for file in (path, DEPLOY / "prometheus" / "alerts.yml"):
        done = subprocess.run([promtool, "check", "rules", str(file)], capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
    alerts = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    names = {_family(n) for r in alerts["groups"][0]["rules"]
             for n in re.findall(r"firebreak_\w+", r["expr"])}
    assert names <= _exported()
