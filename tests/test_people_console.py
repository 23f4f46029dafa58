"""The people console pages as files: served as JavaScript, every import present, every string they show in both
languages (the console's own dictionary plus people_i18n.js)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from edge.paths import PROJECT_ROOT

STATIC = PROJECT_ROOT / "server" / "console" / "static"
PAGES = ["people.js", "people_i18n.js", "people_util.js", "people_panels.js", "leave.js", "appeals.js", "service.js",
         "my.js"]
# keys built at run time: t(`kind_${kind}`), statusBadge("ab"|"pause"|"ap", status), t(`source_${source}`), basis_…
DYNAMIC = [f"kind_{k}" for k in ("leave", "official", "training", "cover", "pause")] + \
    [f"ab_{s}" for s in ("approved", "cancelled")] + \
    [f"pause_{s}" for s in ("active", "planned", "ended", "cancelled")] + \
    [f"ap_{s}" for s in ("pending", "upheld", "withdrawn")] + \
    [f"source_{s}" for s in ("console", "import", "api")] + \
    ["basis_cover", "basis_stand_in", "basis_absent_no_cover", "role_staff", "nav_leave", "nav_appeals",
     "nav_service", "nav_my"]


def _keys(text: str, start: str, end: str | None) -> set[str]:
    block = text[text.index(start):text.index(end) if end else None]
    return set(re.findall(r"(?:^|[\s,{])([a-z][a-z0-9_]*):\s*\"", block, re.MULTILINE))


def dictionary(lang: str) -> set[str]:
    core = (STATIC / "js" / "i18n.js").read_text(encoding="utf-8")
    mine = (STATIC / "js" / "people_i18n.js").read_text(encoding="utf-8")
    if lang == "zh":
        return _keys(core, "const zh = {", "const en = {") | _keys(mine, "export const zh = {", "export const en = {")
    return _keys(core, "const en = {", "const ruleEn = {") | _keys(mine, "export const en = {", "addStrings(")


def used() -> set[str]:
    keys = set(DYNAMIC)
    for name in PAGES:
        text = (STATIC / "js" / name).read_text(encoding="utf-8")
        keys |= set(re.findall(r'\bt\("([a-z0-9_]+)"\s*[,)]', text))
    return keys


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_people_string_exists_in_both_languages(lang):
    missing = sorted(used() - dictionary(lang))
    assert not missing, f"{lang} lacks {missing}"


def test_people_dictionaries_have_the_same_keys():
    mine = (STATIC / "js" / "people_i18n.js").read_text(encoding="utf-8")
    assert _keys(mine, "export const zh = {", "export const en = {") == _keys(mine, "export const en = {", "addStrings(")


@pytest.mark.parametrize("name", PAGES)
def test_pages_import_only_existing_modules(name):
    text = (STATIC / "js" / name).read_text(encoding="utf-8")
    for dep in re.findall(r'from "\./([\w.]+)"|import "\./([\w.]+)"', text):
        target = next(d for d in dep if d)
        assert (STATIC / "js" / target).is_file(), f"{name} imports missing {target}"


def test_the_shell_registers_the_pages_and_the_stylesheet():
    main = (STATIC / "js" / "main.js").read_text(encoding="utf-8")
    assert "...PEOPLE_NAV" in main and "...PEOPLE_ROUTES" in main and "homeFor(ctx.me)" in main
    assert 'href="/console/static/people.css"' in (STATIC / "index.html").read_text(encoding="utf-8")
    assert Path(STATIC / "people.css").is_file()
