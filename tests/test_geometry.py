"""Table tests for edge.geometry (pure numpy zone geometry)."""

from __future__ import annotations

import numpy as np
import pytest

from edge import geometry as g

SQUARE = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], dtype=np.float32)
# an L-shaped (concave) zone: the 10x10 square minus its top-right 5x5 quarter
ELL = np.array([[0, 0], [5, 0], [5, 5], [10, 5], [10, 10], [0, 10]], dtype=np.float32)
TRIANGLE = np.array([[0, 0], [10, 0], [0, 10]], dtype=np.float32)


@pytest.mark.parametrize(
    "norm, shape, expected",
    [
        ([[0, 0], [1, 0], [1, 1]], (480, 640), [[0, 0], [640, 0], [640, 480]]),
        ([[0.5, 0.25], [0.75, 0.25], [0.75, 0.5]], (100, 200), [[100, 25], [150, 25], [150, 50]]),
    ],
)
def test_denormalize_polygon(norm, shape, expected):
    np.testing.assert_allclose(g.denormalize_polygon(norm, shape), expected)


def test_denormalize_rejects_two_points():
    with pytest.raises(ValueError, match="at least 3"):
        g.denormalize_polygon([[0, 0], [1, 1]], (10, 10))


@pytest.mark.parametrize(
    "poly, area",
    [(SQUARE, 100.0), (ELL, 75.0), (TRIANGLE, 50.0), (SQUARE[::-1], 100.0), (SQUARE[:2], 0.0)],
)
def test_polygon_area(poly, area):
    assert g.polygon_area(poly) == pytest.approx(area)


@pytest.mark.parametrize(
    "point, poly, inside",
    [
        ((5, 5), SQUARE, True),
        ((0, 0), SQUARE, True),  # vertex counts as inside
        ((10, 5), SQUARE, True),  # on the right edge
        ((10.01, 5), SQUARE, False),
        ((-1, 5), SQUARE, False),
        ((7.5, 2.5), ELL, False),  # in the notch of the L
        ((2.5, 2.5), ELL, True),
        ((7.5, 7.5), ELL, True),
        ((5, 5), TRIANGLE, True),  # on the hypotenuse
        ((6, 6), TRIANGLE, False),
    ],
)
def test_point_in_polygon(point, poly, inside):
    assert g.point_in_polygon(point, poly) is inside


def test_points_in_polygon_vectorised_and_empty():
    pts = np.array([[1, 1], [20, 20], [9, 9]])
    assert g.points_in_polygon(pts, SQUARE).tolist() == [True, False, True]
    assert g.points_in_polygon(np.zeros((0, 2)), SQUARE).shape == (0,)


@pytest.mark.parametrize(
    "anchor, expected",
    [("bottom_center", [[15, 40]]), ("center", [[15, 30]]), ("top_center", [[15, 20]])],
)
def test_box_anchors(anchor, expected):
    np.testing.assert_allclose(g.box_anchors(np.array([[10, 20, 20, 40]]), anchor), expected)


def test_box_anchors_unknown():
    with pytest.raises(ValueError):
        g.box_anchors(np.array([[0, 0, 1, 1]]), "left")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "a, b, iou",
    [
        ([0, 0, 10, 10], [0, 0, 10, 10], 1.0),
        ([0, 0, 10, 10], [5, 0, 15, 10], 50 / 150),
        ([0, 0, 10, 10], [10, 0, 20, 10], 0.0),  # touching edges
        ([0, 0, 10, 10], [20, 20, 30, 30], 0.0),
        ([0, 0, 0, 0], [0, 0, 0, 0], 0.0),  # degenerate: no division by zero
    ],
)
def test_box_iou(a, b, iou):
    assert g.box_iou(np.array([a]), np.array([b]))[0, 0] == pytest.approx(iou)


def test_box_iou_matrix_shape():
    assert g.box_iou(np.zeros((3, 4)), np.zeros((2, 4))).shape == (3, 2)


@pytest.mark.parametrize(
    "box, poly, frac",
    [
        ([2, 2, 4, 4], SQUARE, 1.0),
        ([5, 0, 15, 10], SQUARE, 0.5),
        ([20, 20, 30, 30], SQUARE, 0.0),
        ([5, 0, 10, 5], ELL, 0.0),  # exactly the notch
        ([0, 0, 10, 10], ELL, 0.75),
        ([0, 0, 10, 10], TRIANGLE, 0.5),
        ([-5, -5, 5, 5], SQUARE, 0.25),
        ([3, 3, 3, 8], SQUARE, 0.0),  # zero-width box
    ],
)
def test_box_fraction_in_polygon(box, poly, frac):
    assert g.box_fraction_in_polygon(np.array([box]), poly)[0] == pytest.approx(frac)


@pytest.mark.parametrize(
    "boxes, poly, cover, tol",
    [
        ([[0, 0, 5, 10]], SQUARE, 0.5, 0.02),
        ([[0, 0, 5, 10], [0, 0, 5, 10]], SQUARE, 0.5, 0.02),  # duplicates are not double counted
        ([[0, 0, 5, 10], [5, 0, 10, 10]], SQUARE, 1.0, 0.02),
        ([[5, 0, 10, 5]], ELL, 0.0, 0.02),  # the notch is not part of the zone
        ([[0, 5, 10, 10]], ELL, 50 / 75, 0.03),
        ([], SQUARE, 0.0, 0.0),
    ],
)
def test_polygon_coverage_union(boxes, poly, cover, tol):
    assert g.polygon_coverage(poly, np.array(boxes, dtype=np.float32).reshape(-1, 4)) == pytest.approx(cover, abs=tol)


@pytest.mark.parametrize("box, frac", [([0, 0, 5, 10], 0.5), ([0, 0, 100, 100], 1.0), ([50, 50, 60, 60], 0.0)])
def test_polygon_fraction_in_box(box, frac):
    assert g.polygon_fraction_in_box(SQUARE, np.array([box]))[0] == pytest.approx(frac)


def test_polygon_mask_counts_pixels():
    mask = g.polygon_mask(np.array([[2, 2], [6, 2], [6, 5], [2, 5]]), (8, 8))
    assert mask.sum() == 12 and mask[2, 2] and not mask[1, 2] and not mask[5, 2]


@pytest.mark.parametrize(
    "box, pad, relative, expected",
    [
        ([10, 10, 20, 30], 0.5, True, [5, 0, 25, 40]),
        ([10, 10, 20, 30], 4, False, [6, 6, 24, 34]),
        ([0, 0, 20, 30], 0.5, True, [0, 0, 30, 45]),  # clipped at the left/top border
        ([80, 40, 100, 50], 1.0, True, [60, 30, 100, 50]),  # clipped at the right/bottom border (w=100, h=50)
    ],
)
def test_pad_boxes(box, pad, relative, expected):
    np.testing.assert_allclose(g.pad_boxes(np.array([box]), pad, (50, 100), relative=relative)[0], expected)


def test_clip_boxes():
    np.testing.assert_allclose(g.clip_boxes(np.array([[-5, -5, 200, 80]]), (60, 100)), [[0, 0, 100, 60]])


def test_boxes_intersect():
    a = np.array([[0, 0, 10, 10]])
    b = np.array([[9, 9, 12, 12], [10, 0, 20, 10], [20, 20, 30, 30]])
    assert g.boxes_intersect(a, b).tolist() == [[True, False, False]]


@pytest.mark.parametrize("points, boxes, expected", [
    ([[5, 5], [15, 5], [10, 10]], [[0, 0, 10, 10]], [True, False, True]),  # edges count as inside
    ([[5, 5], [25, 25]], [[0, 0, 10, 10], [20, 20, 30, 30]], [True, True]),  # any of several boxes
    ([[5, 5]], np.zeros((0, 4)), [False]),  # no boxes
    (np.zeros((0, 2)), [[0, 0, 10, 10]], []),
])
def test_points_in_boxes(points, boxes, expected):
    assert g.points_in_boxes(np.array(points, float), np.array(boxes, float)).tolist() == expected


@pytest.mark.parametrize(
    "boxes, polys, touching",
    [
        ([[2, 2, 4, 4], [20, 20, 30, 30]], [SQUARE], [True, False]),
        ([[5, 0, 10, 5]], [ELL], [False]),  # exactly the notch
        ([[5, 0, 10, 5], [20, 20, 30, 30]], [ELL, np.array([[25, 25], [40, 25], [40, 40]], float)], [False, True]),
        ([[3, 3, 3, 8]], [SQUARE], [False]),  # zero-width box
        ([[2, 2, 4, 4]], [], [False]),
        (np.zeros((0, 4)), [SQUARE], []),
    ],
)
def test_boxes_touching_polygons(boxes, polys, touching):
    assert g.boxes_touching_polygons(np.array(boxes, float), polys).tolist() == touching
