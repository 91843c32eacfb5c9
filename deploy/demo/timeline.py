"""The propagation timeline picture: replicas on one axis, time on the other (SVG)."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

__all__ = ["Arrival", "Commit", "change_colour", "label_lanes", "render_timeline"]

_ROW = 28
_LEFT = 150
_WIDTH = 900
_RIGHT_MARGIN = 40
_TITLE_Y = 26
_FIRST_LANE_Y = 56  # the first row of change labels, clear of the title
_LANE = 17
_CHAR_WIDTH = 7.0  # a generous width of one character at font-size 12 (no font metrics here)
_LABEL_GAP = 10
#: twelve colours told apart at a glance on white (Tableau 10, then two dark ones)
_PALETTE = (
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
    "#e377c2", "#17becf", "#7f7f7f", "#bcbd22", "#393b79", "#000000",
)  # fmt: skip
#: past the palette, hues one golden angle apart keep every change's colour its own
_GOLDEN_ANGLE = 137.508


def change_colour(index: int) -> str:
    """The colour of the ``index``-th change: distinct from every other index's."""
    if index < len(_PALETTE):
        return _PALETTE[index]
    hue = (index * _GOLDEN_ANGLE) % 360
    lightness = 32 + 8 * (index % 3)  # three shades, so that close hues still part
    return f"hsl({hue:.1f}, 70%, {lightness}%)"


def label_lanes(starts: list[float], widths: list[float], right_edge: float) -> list[int]:
    """A lane (row) for each label so that no two labels in one lane overlap: greedy, in the
    order given (by time), each label in the first lane whose last label ends before it."""
    ends: list[float] = []
    lanes = []
    for start, width in zip(starts, widths, strict=True):
        left = min(start, right_edge - width)  # near the right edge a label ends at the line
        for lane, end in enumerate(ends):
            if left >= end + _LABEL_GAP:
                ends[lane] = left + width
                lanes.append(lane)
                break
        else:
            ends.append(left + width)
            lanes.append(len(ends) - 1)
    return lanes


@dataclass(frozen=True)
class Commit:
    """A change the control plane committed, at seconds since the story began."""

    version: int
    action: str
    at: float


@dataclass(frozen=True)
class Arrival:
    """A change applied on one replica, at seconds since the story began."""

    az: str
    version: int
    at: float


def render_timeline(
    replicas: list[str], commits: list[Commit], arrivals: list[Arrival], title: str
) -> str:
    """An SVG document: one row per replica, a dashed line per commit labelled in its own
    colour (labels stacked in lanes so none overlaps another or the title), a dot per arrival."""
    horizon = max([a.at for a in arrivals] + [c.at for c in commits] + [1.0]) * 1.05

    def x(seconds: float) -> float:
        return _LEFT + seconds / horizon * _WIDTH

    ordered = sorted(commits, key=lambda c: (c.at, c.version))
    texts = [f"v{c.version} {c.action}" for c in ordered]
    widths = [len(text) * _CHAR_WIDTH for text in texts]
    right_edge = _LEFT + _WIDTH + _RIGHT_MARGIN - 4
    lanes = label_lanes([x(c.at) for c in ordered], widths, right_edge)
    top = _FIRST_LANE_Y + _LANE * (max(lanes, default=0) + 1) + 12
    height = top + _ROW * len(replicas) + 60
    colour = {c.version: change_colour(i) for i, c in enumerate(ordered)}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_LEFT + _WIDTH + _RIGHT_MARGIN}" '
        f'height="{height}" font-family="sans-serif" font-size="12">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="10" y="{_TITLE_Y}" font-size="16">{escape(title)}</text>',
    ]
    for row, az in enumerate(replicas):
        y = top + row * _ROW
        parts.append(f'<text x="10" y="{y + 4}">{escape(az)}</text>')
        parts.append(f'<line x1="{_LEFT}" y1="{y}" x2="{_LEFT + _WIDTH}" y2="{y}" stroke="#ddd"/>')
    bottom = top + _ROW * (len(replicas) - 1) + 10
    for commit, text, width, lane in zip(ordered, texts, widths, lanes, strict=True):
        cx = x(commit.at)
        label_y = _FIRST_LANE_Y + lane * _LANE
        paint = colour[commit.version]
        parts.append(
            f'<line x1="{cx:.1f}" y1="{label_y + 4}" x2="{cx:.1f}" y2="{bottom}" '
            f'stroke="{paint}" stroke-dasharray="4 3"/>'
        )
        anchor = "start" if cx + width <= right_edge else "end"
        parts.append(
            f'<text x="{cx:.1f}" y="{label_y}" fill="{paint}" text-anchor="{anchor}">'
            f"{escape(text)}</text>"
        )
    rows = {az: index for index, az in enumerate(replicas)}
    for arrival in arrivals:
        if arrival.az not in rows or arrival.version not in colour:
            continue
        y = top + rows[arrival.az] * _ROW
        parts.append(
            f'<circle cx="{x(arrival.at):.1f}" cy="{y}" r="5" '
            f'fill="{colour[arrival.version]}"><title>{escape(arrival.az)}: '
            f"v{arrival.version} at {arrival.at:.2f} s</title></circle>"
        )
    step = max(1, round(horizon / 10))
    for second in range(0, int(horizon) + 1, step):
        parts.append(
            f'<text x="{x(second):.1f}" y="{bottom + 22}" text-anchor="middle">{second} s</text>'
        )
    parts.append(
        f'<text x="{_LEFT}" y="{bottom + 47}">dashed: committed on the control plane; '
        "dot: applied on that replica</text>"
    )
    parts.append("</svg>")
    return "\n".join(parts)
