"""Run one drift tool on one (reference, current) pair; print JSON. Standalone on purpose.

Usage: python drift_worker.py TOOL REF.parquet CUR.parquet
TOOL: firebreak | evidently | nannyml. Runs in the tool's own virtual environment (the
anchors pin conflicting versions), so it imports only pandas and the tool. Reports the
columns the tool calls drifted with its defaults, the wall time of the detection call
alone, and the process's peak resident memory.
"""

from __future__ import annotations

import json
import resource
import sys
import time

import pandas as pd


def firebreak_drifted(ref: pd.DataFrame, cur: pd.DataFrame) -> list[str]:
    import firebreak

    return firebreak.check(ref, cur).drifted


def evidently_drifted(ref: pd.DataFrame, cur: pd.DataFrame) -> list[str]:
    from evidently import Report
    from evidently.presets import DataDriftPreset

    snapshot = Report([DataDriftPreset()]).run(current_data=cur, reference_data=ref)
    out = []
    for metric in snapshot.dict()["metrics"]:
        cfg = metric["config"]
        if not cfg.get("type", "").endswith("ValueDrift"):
            continue
        value, threshold = float(metric["value"]), float(cfg["threshold"])
        # p-value methods drift below the threshold, distance methods at or above it
        drifted = value < threshold if "p_value" in cfg["method"] else value >= threshold
        if drifted:
            out.append(cfg["column"])
    return out


def nannyml_drifted(ref: pd.DataFrame, cur: pd.DataFrame) -> list[str]:
    import nannyml as nml

    calc = nml.UnivariateDriftCalculator(column_names=list(ref.columns))
    calc.fit(ref)
    frame = calc.calculate(cur).filter(period="analysis").to_df()
    alerts = [c for c in frame.columns if c[-1] == "alert"]
    return sorted({c[0] for c in alerts if bool(frame[c].any())})


TOOLS = {"firebreak": firebreak_drifted, "evidently": evidently_drifted,
         "nannyml": nannyml_drifted}


def main() -> None:
    tool, ref_path, cur_path = sys.argv[1:4]
    ref, cur = pd.read_parquet(ref_path), pd.read_parquet(cur_path)
    if tool != "firebreak":  # the anchors predate pandas' Arrow-backed strings
        for frame in (ref, cur):
            for col in frame.columns:
                if not pd.api.types.is_numeric_dtype(frame[col]):
                    frame[col] = frame[col].astype(object)
    TOOLS[tool](ref.head(200), cur.head(200))  # warm imports outside the timed call
    started = time.perf_counter()
    drifted = TOOLS[tool](ref, cur)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"drifted": sorted(drifted), "seconds": seconds, "peak_mb": peak_mb}))


if __name__ == "__main__":
    main()
