"""Feedback loop pieces: crop geometry, boxes from finding details, YOLO / seat labels, presence tuning, the
per-seat override in the window_unstaffed rule, ``command.seat_tuning`` and the tuning API's validation."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from edge import contract as c
from edge.agent.commands import apply_seat_tuning
from edge.rules.window_unstaffed import WindowUnstaffedRule
from models.dataset import MANIFEST_FIELDS, seat_state, yolo_labels
from models.tune import SeatSamples, read_manifest, tune_presence, tune_seat
from server.feedback.routes import check_overrides
from server.feedback.samples import crop_box, finding_boxes, to_crop
from tests.test_rules_support import MONDAY, P_W01, P_W02, dets, simulate, site


@pytest.mark.parametrize("polygon, boxes, expected", [
    ([[0.2, 0.2], [0.6, 0.2], [0.6, 0.4], [0.2, 0.4]], [], [0.14, 0.17, 0.66, 0.43]),
    ([[0.0, 0.9], [0.3, 0.9], [0.3, 1.0], [0.0, 1.0]], [], [0.0, 0.885, 0.345, 1.0]),  # clipped at the border
    (None, [[0.4, 0.4, 0.5, 0.6], [0.45, 0.5, 0.6, 0.7]], [0.37, 0.355, 0.63, 0.745]),  # union of boxes
    (None, [], [0.0, 0.0, 1.0, 1.0]),
])
def test_crop_box(polygon, boxes, expected):
    assert crop_box(polygon, boxes) == pytest.approx(expected)


@pytest.mark.parametrize("box, crop, expected", [
    ([0.3, 0.3, 0.5, 0.5], [0.2, 0.2, 0.6, 0.6], [0.25, 0.25, 0.75, 0.75]),
    ([0.1, 0.3, 0.3, 0.5], [0.2, 0.2, 0.6, 0.6], [0.0, 0.25, 0.25, 0.75]),  # clipped to the crop
    ([0.7, 0.7, 0.9, 0.9], [0.2, 0.2, 0.6, 0.6], None),  # outside
])
def test_to_crop(box, crop, expected):
    got = to_crop(box, crop)
    assert got == (None if expected is None else pytest.approx(expected))


def test_finding_boxes_normalized_and_pixel_entries():
    details = {"boxes": [{"label": "person", "confidence": 0.31, "xyxy": [0.5, 0.4, 0.6, 0.5]}, {"xyxy": "bad"}],
               "cigarette_box": [960, 540, 1000, 560], "frame_size": [1920, 1080], "positive_frames": 4}
    assert finding_boxes(details, details["frame_size"]) == [
        {"label": "person", "confidence": 0.31, "xyxy": [0.5, 0.4, 0.6, 0.5]},
        {"label": "cigarette", "confidence": None, "xyxy": pytest.approx([0.5, 0.5, 1000 / 1920, 560 / 1080])}]
    assert finding_boxes({"cigarette_box": [960, 540, 1000, 560]}, None) == []  # pixels without a frame size


PERSON = {"label": "person", "confidence": 0.3, "xyxy": [0.1, 0.1, 0.2, 0.3]}
CIG = {"label": "cigarette", "confidence": 0.5, "xyxy": [0.1, 0.1, 0.12, 0.11]}


@pytest.mark.parametrize("rule, label, boxes, state, labels", [
    ("window_unstaffed", "confirmed", [PERSON], "empty", []),  # empty seat: background, its weak box is not a person
    ("window_unstaffed", "false_positive", [PERSON], "occupied", [PERSON]),
    ("window_unstaffed", "false_positive", [], "occupied", None),  # nobody boxed: label by hand
    ("smoking", "confirmed", [CIG], "", [CIG]),
    ("smoking", "false_positive", [CIG], "", None),
    ("phone_use", "confirmed", [], "", None),
])
def test_seat_state_and_yolo_labels(rule, label, boxes, state, labels):
    assert seat_state(rule, label) == state
    assert yolo_labels(rule, label, boxes) == labels


@pytest.mark.parametrize("name, occupied, empty, current, min_samples, new, fixed, unfixable, empty_kept", [
    ("separable: just below the weakest occupied", (0.33, 0.37), (0.0, 0.26), 0.4, 2, 0.31, 2, 0, 2),
    ("an empty seat that scored high keeps the threshold above it", (0.30, 0.37), (0.33,), 0.4, 2, 0.35, 1, 1, 1),
    ("never below the detector's floor", (0.26, 0.27), (), 0.4, 2, 0.25, 2, 0, 0),
    ("nothing the detector saw: no threshold helps", (0.0, 0.0, 0.1), (), 0.4, 2, None, 0, 3, 0),
    ("too few occupied samples", (0.35,), (), 0.4, 2, None, 0, 0, 0),
    ("already at or below: no change", (0.39, 0.41), (), 0.3, 2, None, 2, 0, 0),
])
def test_tune_seat(name, occupied, empty, current, min_samples, new, fixed, unfixable, empty_kept):
    r = tune_seat(SeatSamples("seat-x", "cam", occupied, empty, current), min_samples=min_samples)
    assert (r.new, r.fixed, r.unfixable, r.empty_kept) == (
        None if new is None else pytest.approx(new), fixed, unfixable, empty_kept), name


def write_manifest(path: Path, rows: list[dict]) -> None:
    path.mkdir(parents=True, exist_ok=True)
    with (path / "manifest.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=MANIFEST_FIELDS, restval="")
        w.writeheader()
        w.writerows(rows)


def test_tune_presence_from_a_manifest(tmp_path):
    def row(zone, state, conf, thr="0.4", rule="window_unstaffed", at="2026-12-01T10:00:00+00:00"):
        return {"rule": rule, "zone": zone, "camera": "cam-1", "seat_state": state, "max_person_conf": conf,
                "min_person_conf": thr, "decided_at": at, "label": "x"}
    write_manifest(tmp_path, [
        row("seat-a", "occupied", 0.36), row("seat-a", "occupied", 0.33), row("seat-a", "empty", 0.0),
        row("seat-a", "empty", 0.27),
        row("seat-b", "occupied", 0.0), row("seat-b", "occupied", 0.12), row("seat-b", "empty", ""),
        row("seat-c", "occupied", 0.34, thr="0.35", at="2026-12-02T10:00:00+00:00"),
        row("seat-c", "occupied", 0.36, thr="0.4"),
        row("seat-a", "", 0.9, rule="smoking"),  # other rules never tune presence
    ])
    assert [s.zone for s in read_manifest(tmp_path)] == ["seat-a", "seat-b", "seat-c"]
    doc, results = tune_presence(tmp_path)
    assert doc["seat_overrides"] == {"seat-a": {"min_person_conf": pytest.approx(0.31)},
                                     "seat-c": {"min_person_conf": pytest.approx(0.32)}}
    by = {r.zone: r for r in results}
    assert (by["seat-a"].fixed, by["seat-a"].empty_kept) == (2, 2)
    assert (by["seat-b"].new, by["seat-b"].unfixable) == (None, 2)
    assert by["seat-c"].old == 0.35  # the newest decision's threshold is the one in force


def test_tune_presence_rejects_a_folder_without_manifest(tmp_path):
    with pytest.raises(FileNotFoundError, match="dataset export"):
        tune_presence(tmp_path)


def test_seat_override_changes_the_decision_of_that_seat_only():
    """A person at 0.2 in W01's seat (below even the weak level, so the seat looks empty): with the configured
    thresholds the window goes 空岗; with the seat's threshold lowered to 0.15 it stays staffed. W02 (no override)
    is unaffected."""
    start = f"{MONDAY} 10:00:00"
    weak = {"camA": dets(("person", P_W01[1], 0.2), P_W02)}
    plain = WindowUnstaffedRule(site())
    opened = [e for _, e in simulate(plain, start, 200, 1, lambda t: weak) if e.kind == "opened"]
    assert [e.window_id for e in opened] == ["W01"]
    cues = opened[0].details["seat_cues"]
    assert (cues["min_person_conf"], cues["persons_in_zone"], cues["state"]) == (0.4, 0, "empty")
    assert cues["max_person_conf"] == pytest.approx(0.2, abs=1e-4)
    assert opened[0].details["boxes"][0]["label"] == "person"

    tuned = WindowUnstaffedRule(site())
    tuned.set_seat_overrides({"seat-w01": {"min_person_conf": 0.15}})
    assert tuned.seat_min_conf("seat-w01") == 0.15 and tuned.seat_min_conf("seat-w02") == tuned.min_conf
    assert [e for _, e in simulate(tuned, start, 200, 1, lambda t: weak) if e.kind == "opened"] == []
    tuned.set_seat_overrides({})  # a new tuning without the seat gives it back its configured threshold
    assert tuned.seat_min_conf("seat-w01") == tuned.min_conf


def test_seat_tuning_command_roundtrip_and_unknown_seats():
    cmd = c.Command(type="command.seat_tuning", hall_id="h", edge_id="e",
                    seat_overrides={"seat-w01": {"min_person_conf": 0.3}, "seat-gone": {"min_person_conf": 0.2}})
    back = c.parse_command(c.encode(cmd))
    got: list[dict] = []
    assert apply_seat_tuning(back, got.append, {"seat-w01", "seat-w02"}) == {"seat-w01": {"min_person_conf": 0.3}}
    assert got == [{"seat-w01": {"min_person_conf": 0.3}}]
    for bad in (b'"min_person_conf": "high"', b'"min_person_conf": NaN'):
        with pytest.raises(c.ContractError):
            c.parse_command(c.encode(cmd).replace(b'"min_person_conf":0.3', bad).replace(
                b'"min_person_conf": 0.3', bad))


@pytest.mark.parametrize("overrides, errors", [
    ({"seat-w01": {"min_person_conf": 0.3}}, []),
    ({"seat-x": {"min_person_conf": 0.3}}, ["unknown seat zone 'seat-x'"]),
    ({"seat-w01": {"min_person_conf": 1.2}}, ["seat-w01.min_person_conf: 1.2 is outside (0, 1)"]),
    ({"seat-w01": {"ref_diff": 0.2}}, ["seat-w01: unknown threshold 'ref_diff' (known: min_person_conf)"]),
])
def test_check_overrides(overrides, errors):
    assert check_overrides(overrides, {"seat-w01", "seat-w02"}) == errors


def test_contract_knows_the_command_topic():
    assert c.TOPIC_OF["command.seat_tuning"] == "command"


def test_cli_errors_are_one_line_and_exit_2(tmp_path, capsys):
    from models.cli import main

    assert main(["tune", "presence", "--dataset", str(tmp_path / "none")]) == 2
    assert "dataset export" in capsys.readouterr().err
    assert main(["dataset", "export", "--database-url", f"sqlite:///{tmp_path}/missing/dir/x.db",
                 "--out", str(tmp_path / "ds")]) == 2
    assert "hallwatch models dataset export: database" in capsys.readouterr().err
    assert not (tmp_path / "ds").exists()  # nothing written (a previous export would be left as it was)
    write_manifest(tmp_path / "bad", [{"rule": "window_unstaffed", "zone": "seat-a", "seat_state": "occupied",
                                       "max_person_conf": "high", "sample_id": "7"}])
    assert main(["tune", "presence", "--dataset", str(tmp_path / "bad")]) == 2
    assert "sample 7: max_person_conf 'high'" in capsys.readouterr().err
