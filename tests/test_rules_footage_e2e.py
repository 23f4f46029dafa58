"""End to end on real footage: chatting and eating through the real models (COCO, pose, hand pass) as the
pipeline feeds them, against the by-eye truth of ``models/truth/rules/*.yaml`` (a few short items; the whole
table is ``make accuracy``)."""

from __future__ import annotations

import pytest

from models.rules_footage import load_rule_truth, run_item

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def coco(models_dir):
    from edge.detect.base import load_detector

    return load_detector("yolo11n-coco-int8", models_dir=models_dir)


def item(rule: str, name_start: str) -> dict:
    return next(i for i in load_rule_truth(rule)["items"] if i["name"].startswith(name_start))


@pytest.mark.parametrize("name, expected", [
    ("classroom, four people each at their own desk", None),
    ("classroom, two people in one window's staff area", ("idle_pair", "visited_window", "W1")),
])
def test_chatting_on_the_classroom_camera(media_dir, coco, name, expected):
    res = run_item(item("chatting", name), "chatting", media_dir, coco)
    assert res.frames >= 10
    if expected is None:
        assert res.opened == []
    else:
        (ev,) = res.opened
        assert (ev.details["case"], ev.details["attribution"], ev.window_id) == expected
        assert ev.details["visited_window"] == "W1" and ev.details["max_visitors"] == 1


@pytest.mark.parametrize("name", [
    "hands with a phone on a cafe table",  # a hand right beside the coffee cup, top-down
    "woman texting at a table",  # coffee and cake within reach
])
def test_no_eating_with_a_cup_beside_the_hands(media_dir, models_dir, coco, name):
    from edge.detect.base import load_detector
    from edge.detect.hands import POSE_MODEL, HandAnalyser
    from edge.rules_config import PhoneUseRule

    hands = HandAnalyser(coco, load_detector(POSE_MODEL, models_dir=models_dir),
                         max_upscale=PhoneUseRule().hand_crop_max_upscale or None)  # as the agent and make accuracy
    res = run_item(item("eating", name), "eating", media_dir, coco, hands)
    assert res.frames >= 15 and res.item_frames > 0  # the cup is seen: the rule had something to refuse
    assert res.opened == []
