"""Red-team campaigns and chaos runs: list and show (read); record (operate).

The producers (`firebreak redteam run --record`, `firebreak chaos run`) write to the store
directly when they share its database; anything else posts here. The dashboard's red-team
and chaos pages read the GET routes.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from firebreak.api.deps import get_db, require
from firebreak.store import Database
from firebreak.store import results as store

router = APIRouter(tags=["results"])
# Annotated, not shared defaults: FastAPI binds a Path/Query object to the first name it meets.
Id = Annotated[int, Path(ge=1, le=2**62)]
Limit = Annotated[int, Query(ge=1, le=200, description="rows per page, newest first")]
Before = Annotated[int | None, Query(ge=1, le=2**62,
                                     description="next_before_id of the previous page")]


def _by(request: Request) -> str:
    return f"token:{request.state.token.name}"


@router.post("/v1/redteam/campaigns", status_code=201, response_model=store.Campaign,
             dependencies=[Depends(require("operate"))])
async def record_campaign(body: store.NewCampaign, request: Request,
                          db: Database = Depends(get_db)) -> store.Campaign:
    return await asyncio.to_thread(store.record_campaign, db, body, recorded_by=_by(request))


@router.get("/v1/redteam/campaigns", response_model=store.CampaignPage,
            dependencies=[Depends(require("read"))])
def campaigns(limit: Limit = 50, before_id: Before = None,
              db: Database = Depends(get_db)) -> store.CampaignPage:
    rows = store.list_campaigns(db, limit=limit, before_id=before_id)
    return store.CampaignPage(campaigns=rows,
                              next_before_id=rows[-1].id if len(rows) == limit else None)


@router.get("/v1/redteam/campaigns/{campaign_id}", response_model=store.Campaign,
            dependencies=[Depends(require("read"))])
def campaign(campaign_id: Id, db: Database = Depends(get_db)) -> store.Campaign:
    return store.get_campaign(db, campaign_id)


@router.post("/v1/chaos/runs", status_code=201, response_model=store.ChaosRun,
             dependencies=[Depends(require("operate"))])
async def record_chaos_run(body: store.NewChaosRun, request: Request,
                           db: Database = Depends(get_db)) -> store.ChaosRun:
    return await asyncio.to_thread(store.record_chaos_run, db, body, recorded_by=_by(request))


@router.get("/v1/chaos/runs", response_model=store.ChaosRunPage,
            dependencies=[Depends(require("read"))])
def chaos_runs(limit: Limit = 50, before_id: Before = None,
               db: Database = Depends(get_db)) -> store.ChaosRunPage:
    rows = store.list_chaos_runs(db, limit=limit, before_id=before_id)
    return store.ChaosRunPage(runs=rows, next_before_id=rows[-1].id if len(rows) == limit else None)


@router.get("/v1/chaos/runs/{run_id}", response_model=store.ChaosRun,
            dependencies=[Depends(require("read"))])
def chaos_run(run_id: Id, db: Database = Depends(get_db)) -> store.ChaosRun:
    return store.get_chaos_run(db, run_id)
