"""HTTP API of the hall operations pages (live pictures, hall map, statistics and 督查通报, duty roster,
user administration), all under ``/api/v1``; every hall route uses the console's hall checks (a user bound to
a home hall sees only that hall, other halls answer 404). ``server.app.create_app`` includes ``router``."""

from __future__ import annotations

from fastapi import APIRouter

import server.hallops.models  # noqa: F401 - tables in the metadata
from server.hallops import api_live, api_map, api_roster, api_stats, api_users

router = APIRouter()
router.include_router(api_live.router)
router.include_router(api_map.router)
router.include_router(api_stats.router)
router.include_router(api_roster.router)
router.include_router(api_users.router)
