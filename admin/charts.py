"""Charts drawn on the server as SVG (no chart library, no script): the geometry here, the markup in the
template. Sized in a 360-unit-wide viewBox, so a chart fits a 390 px phone and scales up on a desk."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from backend.announcements.figures import FigureRow

WIDTH = 360
LABEL_WIDTH = 118  # group names, right-aligned against the bars
BAR_X = 122
BAR_MAX = 190  # 100 %
ROW = 22
BAR_HEIGHT = 14
TOP = 4
AXIS = 18  # room for the 0 % / 50 % / 100 % labels below the bars
LABEL_CHARS = 7  # CJK characters that fit the label column at 12 px, after the deepest indent
INDENT = 8
LABEL_X = 4  # off the frame


@dataclass(frozen=True)
class Bar:
    label: str  # as drawn, shortened to fit
    title: str  # the whole line, for the tooltip and screen readers
    y: int
    label_x: int
    width: float
    percent: str
    subtotal: bool


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bar_x: int
    bar_max: int
    bar_height: int
    label_right: int
    axis_y: int
    ticks: list[tuple[float, str]]
    bars: list[Bar]


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def read_rate_chart(rows: Sequence[FigureRow]) -> Chart | None:
    """One bar per line of the figures table (branch subtotals drawn darker); None with no recipients."""
    lines = [row for row in rows if row.figures.recipients]
    if not lines:
        return None
    bars = []
    for n, row in enumerate(lines):
        depth = min(row.depth, 3)
        name = "本级" if row.own else row.name
        whole = f"{row.name}（本级，直属会员）" if row.own else row.name
        if row.subtotal:
            whole += "（含下级组织）"
        f = row.figures
        bars.append(
            Bar(
                label=_shorten(name, LABEL_CHARS - (1 if depth >= 2 else 0)),
                title=f"{whole}：阅读率 {f.read_percent}，已读 {f.read} / {f.recipients} 人",
                y=TOP + n * ROW,
                label_x=LABEL_X + depth * INDENT,
                width=round(BAR_MAX * f.read_rate, 1),
                percent=f.read_percent,
                subtotal=row.subtotal,
            )
        )
    axis_y = TOP + len(lines) * ROW
    ticks = [(BAR_X + BAR_MAX * share, f"{int(share * 100)}%") for share in (0, 0.5, 1)]
    return Chart(
        width=WIDTH,
        height=axis_y + AXIS,
        bar_x=BAR_X,
        bar_max=BAR_MAX,
        bar_height=BAR_HEIGHT,
        label_right=LABEL_WIDTH,
        axis_y=axis_y,
        ticks=ticks,
        bars=bars,
    )


# --- shares: activity participation by group, care budgets and confirmations --------------------------


def share_chart(items: Sequence[tuple[str, float, str]]) -> Chart | None:
    """One bar per (label, share 0…1, text shown beside the bar); None with nothing to draw.
    Used by the activity figures (participation by group) and the care figures (budget, confirmations)."""
    if not items:
        return None
    bars = [
        Bar(
            label=_shorten(label, LABEL_CHARS),
            title=f"{label}：{text}",
            y=TOP + n * ROW,
            label_x=LABEL_X,
            width=round(BAR_MAX * max(0.0, min(share, 1.0)), 1),
            percent=text,
            subtotal=False,
        )
        for n, (label, share, text) in enumerate(items)
    ]
    axis_y = TOP + len(bars) * ROW
    ticks = [(BAR_X + BAR_MAX * share, f"{int(share * 100)}%") for share in (0, 0.5, 1)]
    return Chart(WIDTH, axis_y + AXIS, BAR_X, BAR_MAX, BAR_HEIGHT, LABEL_WIDTH, axis_y, ticks, bars)


# --- amounts: care visits and spending by month ------------------------------------------------------


def scaled_chart(items: Sequence[tuple[str, float, str]], tick: Callable[[float], str]) -> Chart | None:
    """Bars for (label, value, text beside the bar), scaled to the largest value; the axis reads
    0 / half / the largest as `tick` writes them. None when every value is 0 (nothing to draw)."""
    top = max((value for _, value, _ in items), default=0)
    if top <= 0:
        return None
    chart = share_chart([(label, value / top, text) for label, value, text in items])
    assert chart is not None
    ticks = [(BAR_X + BAR_MAX * share, tick(top * share)) for share in (0, 0.5, 1)]
    return replace(chart, ticks=ticks)
