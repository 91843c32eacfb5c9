"""The propagation timeline picture: replicas on one axis, time on the other (SVG)."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

__all__ = ["Arrival", "Commit", "render_timeline"]

_ROW = 28
_LEFT = 150
_WIDTH = 900
_TOP = 60
_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")


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
    """An SVG document: one row per replica, a dashed line per commit, a dot per arrival."""
    horizon = max([a.at for a in arrivals] + [c.at for c in commits] + [1.0]) * 1.05

    def x(seconds: float) -> float:
        return _LEFT + seconds / horizon * _WIDTH

    height = _TOP + _ROW * len(replicas) + 60
    colour = {c.version: _PALETTE[i % len(_PALETTE)] for i, c in enumerate(commits)}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_LEFT + _WIDTH + 40}" '
        f'height="{height}" font-family="sans-serif" font-size="12">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="{_LEFT}" y="24" font-size="16">{escape(title)}</text>',
    ]
    for row, az in enumerate(replicas):
        y = _TOP + row * _ROW
        parts.append(f'<text x="10" y="{y + 4}">{escape(az)}</text>')
        parts.append(f'<line x1="{_LEFT}" y1="{y}" x2="{_LEFT + _WIDTH}" y2="{y}" stroke="#ddd"/>')
    bottom = _TOP + _ROW * len(replicas)
    for commit in commits:
        cx = x(commit.at)
        parts.append(
            f'<line x1="{cx:.1f}" y1="{_TOP - 14}" x2="{cx:.1f}" y2="{bottom}" '
            f'stroke="{colour[commit.version]}" stroke-dasharray="4 3"/>'
        )
        parts.append(
            f'<text x="{cx:.1f}" y="{_TOP - 18}" fill="{colour[commit.version]}" '
            f'transform="rotate(-20 {cx:.1f} {_TOP - 18})">v{commit.version} '
            f"{escape(commit.action)}</text>"
        )
    rows = {az: index for index, az in enumerate(replicas)}
    for arrival in arrivals:
        if arrival.az not in rows or arrival.version not in colour:
            continue
        y = _TOP + rows[arrival.az] * _ROW
        parts.append(
            f'<circle cx="{x(arrival.at):.1f}" cy="{y}" r="5" '
            f'fill="{colour[arrival.version]}"><title>{escape(arrival.az)}: '
            f"v{arrival.version} at {arrival.at:.2f} s</title></circle>"
        )
    step = max(1, round(horizon / 10))
    for second in range(0, int(horizon) + 1, step):
        parts.append(
            f'<text x="{x(second):.1f}" y="{bottom + 20}" text-anchor="middle">{second} s</text>'
        )
    parts.append(
        f'<text x="{_LEFT}" y="{bottom + 45}">dashed: committed on the control plane; '
        "dot: applied on that replica</text>"
    )
    parts.append("</svg>")
    return "\n".join(parts)
