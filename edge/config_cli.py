"""``hallwatch config validate FILE`` and ``hallwatch config schema --out DIR``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from edge import contract, site


def _write_schemas(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in (
        ("site-config.schema.json", site.json_schema()),
        ("edge-message.schema.json", contract.json_schema()),
        ("command.schema.json", contract.command_json_schema()),
    ):
        p = out / name
        p.write_text(json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        written.append(p)
    try:  # the assessment scheme lives with the server; export it when installed
        from server.assessment.scheme import json_schema as scheme_schema  # type: ignore[import-not-found]
    except ImportError:
        pass
    else:
        p = out / "assessment-scheme.schema.json"
        p.write_text(json.dumps(scheme_schema(), ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        written.append(p)
    return written


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="hallwatch config")
    sub = ap.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("validate", help="validate a site config; every error with its YAML line")
    v.add_argument("file", nargs="+")
    s = sub.add_parser("schema", help="export JSON Schemas of the site config and the edge contract")
    s.add_argument("--out", default="configs/schema")
    args = ap.parse_args(argv)
    if args.cmd == "schema":
        for p in _write_schemas(Path(args.out)):
            print(p)
        return 0
    failed = 0
    for f in args.file:
        try:
            cfg = site.load_site_config(f)
        except site.ConfigError as exc:
            print(exc.render(), file=sys.stderr)
            failed += 1
            continue
        print(f"{f}: ok — {cfg.hall.name}: {len(cfg.windows)} windows, {len(cfg.cameras)} cameras, "
              f"{len(cfg.sensors)} sensors")
    return 1 if failed else 0
