"""The console's assessment page at API level: which roles get the ``assess`` capability (the page shows the
supervisor actions only with it) and that the API refuses the same actions to the other roles; the page's
modules are served; every string the page looks up exists in Chinese and English."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest

from edge import contract as c
from edge.paths import PROJECT_ROOT
from tests.test_console_helpers import TZ
from tests.test_console_helpers import console as con  # noqa: F401  (the `con` fixture: demo hall, users of every role)

STATIC = PROJECT_ROOT / "server" / "console" / "static" / "js"
PAGE_MODULES = ("assessment.js", "assessment_actions.js", "assessment_detail.js", "assessment_util.js", "dialog.js")


@pytest.mark.parametrize("role, has", [("viewer", False), ("inspector", False), ("supervisor", True), ("admin", True)])
def test_assess_capability_by_role(con, role, has):  # noqa: F811 (fixture)
    me = con.get("/api/v1/console/me", role).json()
    assert ("assess" in me["can"]) is has
    assert "view" in me["can"]  # everyone sees the page and may export and verify


def _confirmed_smoking(con) -> str:  # noqa: F811
    start = dt.datetime(2026, 8, 12, 10, 5, tzinfo=TZ)
    fid = uuid.uuid4()
    con.ingest(c.FindingOpened(hall_id=con.hall_id, edge_id=con.edge_id, finding_id=fid, rule="smoking",
                               severity="major", started_at=start, window_id="W03"))
    aid = next(a["id"] for a in con.get("/api/v1/console/alerts", params={"hall_id": con.hall_id}).json()
               if a["rule"] == "smoking")
    assert con.post(f"/api/v1/console/alerts/{aid}/confirm", "supervisor", json={"comment": "属实"}).status_code == 200
    return str(fid)


@pytest.mark.parametrize("role, expected", [("viewer", 403), ("inspector", 403), ("supervisor", None)])
def test_the_api_refuses_what_the_page_hides(con, role, expected):  # noqa: F811 (fixture)
    fid = _confirmed_smoking(con)
    sheet = f"/api/v1/assessment/halls/{con.hall_id}/sheets/2026Q3"
    calls = [
        ("reassign", f"/api/v1/assessment/findings/{fid}/reassign", {"staff_id": "S006", "reason": "录像复核"}, 200),
        ("entry", f"/api/v1/assessment/halls/{con.hall_id}/entries",
         {"item_id": "absent_half_day", "at": "2026-08-20T09:00:00+08:00", "staff_id": "S001", "note": "考勤"}, 201),
        ("sign-off", f"{sheet}/sign-off", None, 201),
        ("amend", f"{sheet}/amend", {"reason": "复核"}, 409),  # nothing changed since the sign-off
    ]
    for what, path, body, ok in calls:
        r = con.post(path, role, json=body) if body is not None else con.post(path, role)
        assert r.status_code == (expected or ok), (what, r.text)
    # reading, exporting and verifying stay open to every role
    assert con.get(sheet, role).status_code == 200
    assert con.get(f"{sheet}/export.csv", role, params={"lang": "en"}).status_code == 200
    assert con.get(f"{sheet}/verify", role).status_code == (404 if expected else 200)  # only a signed quarter


@pytest.mark.parametrize("module", PAGE_MODULES)
def test_page_modules_are_served_as_javascript(con, module):  # noqa: F811 (fixture)
    r = con.client.get(f"/console/static/js/{module}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    for dep in re.findall(r'from "\./([\w.]+)"', r.text):
        assert (STATIC / dep).is_file(), f"{module} imports missing {dep}"


def _dict_keys(source: str, start: str, end: str) -> set[str]:
    block = source[source.index(start):source.index(end)]
    return set(re.findall(r"\b([a-z][a-z0-9_]*):\s", block))


# keys the page builds at run time (t("tab_" + key), t(`export_${fmt}`), t("problem_" + p.problem), basis_…)
DYNAMIC = ["tab_windows", "tab_staff", "export_xlsx", "export_pdf", "export_csv", "problem_missing",
           "problem_hash_mismatch", "problem_broken_chain", "basis_roster_a", "basis_roster_b", "basis_substitute",
           "basis_edge", "basis_reassigned", "basis_window", "basis_none", "basis_entered"]


def _page_keys() -> list[str]:
    used = set(DYNAMIC)
    for module in PAGE_MODULES:
        used |= set(re.findall(r'\bt\("([a-z0-9_]+)"\s*[,)]', (STATIC / module).read_text(encoding="utf-8")))
    return sorted(used)


@pytest.mark.parametrize("lang, start, end", [("zh", "const zh = {", "const en = {"),
                                              ("en", "const en = {", "const ruleEn = {")])
def test_every_page_string_exists_in_both_languages(lang, start, end):
    keys = _dict_keys((STATIC / "i18n.js").read_text(encoding="utf-8"), start, end)
    missing = [k for k in _page_keys() if k not in keys]
    assert not missing, f"{lang} lacks {missing}"
