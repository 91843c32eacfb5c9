"""The demo's timeline picture stays legible: every change its own colour, and no label
overlapping another label or the title, however close together the changes were made."""

from __future__ import annotations

import re
from xml.etree import ElementTree

import pytest

from deploy.demo.timeline import Arrival, Commit, change_colour, label_lanes, render_timeline

_SVG = "{http://www.w3.org/2000/svg}"
_CHAR_WIDTH = 7.0  # the renderer's own generous estimate of a character's width
_LINE_HEIGHT = 14


def _story(count: int, spacing: float) -> str:
    commits = [
        Commit(version=3 + i, action=("CreateAccessKey", "PutUserPolicy")[i % 2], at=i * spacing)
        for i in range(count)
    ]
    arrivals = [Arrival("us-east-1a", c.version, c.at + 1.0) for c in commits]
    return render_timeline(["us-east-1a", "eu-west-1b"], commits, arrivals, "the title")


def _boxes(svg: str) -> list[tuple[str, float, float, float, float]]:
    """(text, left, right, top, bottom) of every text element."""
    boxes = []
    for element in ElementTree.fromstring(svg).iter(f"{_SVG}text"):
        text = element.text or ""
        x, y = float(element.get("x", 0)), float(element.get("y", 0))
        size = float(element.get("font-size", 12))
        width = len(text) * _CHAR_WIDTH * size / 12
        left = x - width if element.get("text-anchor") == "end" else x
        if element.get("text-anchor") == "middle":
            left = x - width / 2
        boxes.append((text, left, left + width, y - _LINE_HEIGHT * size / 12, y))
    return boxes


@pytest.mark.parametrize("count,spacing", [(10, 0.01), (10, 1.0), (25, 0.2), (3, 0.0)])
def test_no_label_overlaps_another_or_the_title(count: int, spacing: float) -> None:
    boxes = [b for b in _boxes(_story(count, spacing)) if re.match(r"v\d+ |the title", b[0])]
    assert len(boxes) == count + 1
    for index, first in enumerate(boxes):
        for second in boxes[index + 1 :]:
            apart_x = first[2] <= second[1] or second[2] <= first[1]
            apart_y = first[4] <= second[3] or second[4] <= first[3]
            assert apart_x or apart_y, (first, second)


def test_labels_stay_inside_the_picture() -> None:
    svg = _story(8, 0.5)
    width = float(ElementTree.fromstring(svg).get("width", 0))
    for text, left, right, _, _ in _boxes(svg):
        if text.startswith("v"):
            assert left >= 0 and right <= width, text


def test_every_change_has_a_colour_of_its_own() -> None:
    colours = [change_colour(i) for i in range(60)]
    assert len(set(colours)) == len(colours)
    svg = _story(12, 0.3)
    fills = {
        element.text: element.get("fill")
        for element in ElementTree.fromstring(svg).iter(f"{_SVG}text")
        if (element.text or "").startswith("v")
    }
    assert len(set(fills.values())) == 12  # v3 and v10 (and all the others) differ


def test_lanes_reuse_a_row_once_the_earlier_label_has_ended() -> None:
    assert label_lanes([0, 10, 500], [100, 100, 100], 2000) == [0, 1, 0]
