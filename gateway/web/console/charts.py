"""Small bar charts drawn as inline SVG on the server: no script, no CDN, nothing to load.

Pure functions from numbers to markup. Each chart is an image with a title and a description
(read by screen readers instead of the shapes); every bar has its own <title>, shown on hover.
The page puts the same numbers in a table for anyone who would rather read them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from markupsafe import Markup, escape

from gateway.dashboard import Bar, Day

WIDTH = 400  # viewBox units; the SVG scales to its box, text with it
FONT = 14
# The console's colours (console.css): red for stopping, green for going ahead.
COLOURS = {
    "opt_out": "#b42318",
    "opt_in": "#1a7f37",
    "sent": "#1a7f37",
    "dry_run": "#0b5cad",
    "blocked": "#b42318",
    "deferred": "#9a6700",
    "failed": "#7a1a12",
    "waiting": "#57606a",
    "unknown": "#6e40c9",
    "review": "#0b5cad",
    "overdue": "#b42318",
}


def _svg(slug: str, title: str, desc: str, height: float, body: Markup) -> Markup:
    return Markup(
        '<svg class="chart" role="img" aria-labelledby="{s}-title {s}-desc" '
        'viewBox="0 0 {w} {h}" width="100%" preserveAspectRatio="xMinYMin meet" '
        'xmlns="http://www.w3.org/2000/svg" font-size="{f}" font-family="system-ui, sans-serif">'
        '<title id="{s}-title">{t}</title><desc id="{s}-desc">{d}</desc>{b}</svg>'
    ).format(s=slug, w=WIDTH, h=_n(height), f=FONT, t=title, d=desc, b=body)


def _n(value: float) -> str:
    """Coordinates with at most two decimals: short markup, stable tests."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _empty(message: str) -> Markup:
    return Markup('<text x="0" y="28" font-size="16" fill="#57606a">{m}</text>').format(m=message)


def bars(slug: str, title: str, items: Sequence[Bar], *, empty: str) -> Markup:
    """Horizontal bars, each label above its bar and the count at its end; the longest bar
    spans the width, the others in proportion."""
    if not items or all(item.count == 0 for item in items):
        return _svg(slug, title, empty, 44, _empty(empty))
    top = max(item.count for item in items)
    room = WIDTH - 48  # the count's place after the longest bar
    row = 46
    parts = []
    for i, item in enumerate(items):
        y = i * row
        width = room * item.count / top
        parts.append(
            Markup(
                "<g><title>{label}: {count}</title>"
                '<text x="0" y="{ty}" fill="#1b1f24">{label}</text>'
                '<rect x="0" y="{by}" width="{w}" height="18" rx="2" fill="{c}"></rect>'
                '<text x="{cx}" y="{cy}" fill="#1b1f24" font-weight="600">{count}</text></g>'
            ).format(
                label=item.label,
                count=item.count,
                ty=_n(y + 15),
                by=_n(y + 21),
                w=_n(width),
                c=COLOURS.get(item.kind, "#57606a"),
                cx=_n(width + 6),
                cy=_n(y + 34),
            )
        )
    desc = "; ".join(f"{item.label}: {item.count}" for item in items)
    return _svg(slug, title, desc, len(items) * row + 4, Markup("").join(parts))


def day_columns(slug: str, title: str, days: Sequence[Day], *, empty: str) -> Markup:
    """A pair of columns per day (opt-outs, then opt-ins), oldest day on the left, today and
    every seventh day before it labelled, the scale's top value on the left."""
    total_out, total_in = sum(d.opt_outs for d in days), sum(d.opt_ins for d in days)
    if total_out + total_in == 0:
        return _svg(slug, title, empty, 44, _empty(empty))
    top = max(max(d.opt_outs, d.opt_ins) for d in days)
    left, plot_top, plot_h = 34.0, 30.0, 120.0
    base = plot_top + plot_h
    slot = (WIDTH - left) / len(days)
    bar_w = max(slot / 2 - 1, 1)
    parts = [_legend(), _axis(left, plot_top, base, top)]
    for i, day in enumerate(days):
        x = left + i * slot
        for offset, value, kind, what in (
            (0.0, day.opt_outs, "opt_out", "opt-out"),
            (bar_w, day.opt_ins, "opt_in", "opt-in"),
        ):
            h = plot_h * value / top
            parts.append(
                Markup(
                    '<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{c}">'
                    "<title>{day}: {what}</title></rect>"
                ).format(
                    x=_n(x + offset + 0.5),
                    y=_n(base - h),
                    w=_n(bar_w),
                    h=_n(h),
                    c=COLOURS[kind],
                    day=_day(day.day),
                    what=_counted(value, what),
                )
            )
        if (len(days) - 1 - i) % 7 == 0:  # today, and each week back from it
            last = i == len(days) - 1
            parts.append(
                Markup('<text x="{x}" y="{y}" text-anchor="{a}" fill="#57606a">{d}</text>').format(
                    x=_n(WIDTH if last else x + slot / 2),
                    y=_n(base + 16),
                    a="end" if last else "middle",
                    d=_day(day.day),
                )
            )
    busiest = max(days, key=lambda d: d.opt_outs)
    desc = (
        f"{_counted(total_out, 'opt-out')} and {_counted(total_in, 'opt-in')} "
        f"over {len(days)} days, {_day(days[0].day)} to {_day(days[-1].day)}"
    )
    if busiest.opt_outs:
        desc += f"; most opt-outs on {_day(busiest.day)} ({busiest.opt_outs})"
    return _svg(slug, title, desc, base + 22, Markup("").join(parts))


def _legend() -> Markup:
    return Markup(
        '<rect x="0" y="4" width="12" height="12" fill="{o}"></rect>'
        '<text x="16" y="14" fill="#1b1f24">Opt-outs</text>'
        '<rect x="90" y="4" width="12" height="12" fill="{i}"></rect>'
        '<text x="106" y="14" fill="#1b1f24">Opt-ins</text>'
    ).format(o=COLOURS["opt_out"], i=COLOURS["opt_in"])


def _axis(left: float, top_y: float, base: float, top: int) -> Markup:
    return Markup(
        '<line x1="{l}" y1="{b}" x2="{w}" y2="{b}" stroke="#8c959f"></line>'
        '<line x1="{l}" y1="{t}" x2="{w}" y2="{t}" stroke="#d0d7de" stroke-dasharray="3 3"></line>'
        '<text x="{lx}" y="{ty}" text-anchor="end" fill="#57606a">{top}</text>'
        '<text x="{lx}" y="{by}" text-anchor="end" fill="#57606a">0</text>'
    ).format(
        l=_n(left),
        b=_n(base),
        w=WIDTH,
        t=_n(top_y),
        lx=_n(left - 4),
        ty=_n(top_y + 4),
        by=_n(base),
        top=top,
    )


def _day(day: dt.date) -> str:
    return escape(f"{day:%b} {day.day}")


def _counted(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"
