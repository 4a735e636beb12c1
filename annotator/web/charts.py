"""Small server-side SVG charts: plain numbers in, escaped SVG markup out.

No Flask, no JavaScript; colours go in SVG presentation attributes (fill=,
stroke=), which the Content-Security-Policy allows, never in style=. The
page's ink, muted ink, grid lines and blank cells also carry a class
(chart-ink, chart-muted, chart-line, chart-blank) by which the stylesheet
gives them the theme's colour in the dark theme; the attributes are the
light theme's, the same values. Every
piece of text passes through ``markupsafe.escape``. ``learning_curve_figure``
is a stored learning curve as the Models page and the review dashboard show it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup, escape

from ..metrics.summary import pair_key

INK, MUTED, LINE, ACCENT = "#1d2330", "#5f6b7a", "#d9dee5", "#2458c6"
BLANK = "#f1f3f6"
# The page's colours, followed by the theme (review.css); any other fill is the chart's own.
THEMED = {INK: "chart-ink", MUTED: "chart-muted"}


def _text(
    x: float,
    y: float,
    text: object,
    anchor: str = "start",
    fill: str = INK,
    size: int = 12,
    weight: str = "normal",
    themed: bool = True,
) -> str:
    css_class = f' class="{THEMED[fill]}"' if themed and fill in THEMED else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}"{css_class} text-anchor="{anchor}" fill="{fill}" font-size="{size}" '
        f'font-weight="{weight}">{escape(str(text))}</text>'
    )


def _svg(width: float, height: float, title: str, body: list[str], css_class: str) -> Markup:
    return Markup(
        f'<svg class="chart {css_class}" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
        f'role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def bars_with_intervals(
    title: str,
    rows: Sequence[tuple[str, float | None, Sequence[float] | None, int]],
    colours: Mapping[str, str] | None = None,
) -> Markup:
    """Horizontal bars, one per (name, value, [low, high] or None, n), on a 0..1 axis (negative values allowed).

    The interval is drawn as an error bar; an undefined value as "n/a".
    """
    colours = colours or {}
    low_end = min([0.0] + [v for _, v, _, _ in rows if v is not None] + [ci[0] for _, _, ci, _ in rows if ci])
    low_end = -1.0 if low_end < 0 else 0.0
    left, plot, right, row_h = 110, 360, 150, 30
    width, height = left + plot + right, 34 + row_h * len(rows) + 26

    def x(v: float) -> float:
        return left + (v - low_end) / (1 - low_end) * plot

    body = [_text(0, 16, title, weight="600", size=13)]
    for tick in ([-1, -0.5] if low_end < 0 else []) + [0, 0.25, 0.5, 0.75, 1]:
        body.append(
            f'<line x1="{x(tick):.1f}" y1="26" x2="{x(tick):.1f}" y2="{height - 22}" class="chart-line" stroke="{LINE}"/>'
        )
        body.append(_text(x(tick), height - 8, f"{tick:g}", anchor="middle", fill=MUTED, size=11))
    for i, (name, value, ci, n) in enumerate(rows):
        y = 30 + i * row_h
        body.append(_text(left - 8, y + 17, name, anchor="end"))
        if value is None:
            body.append(_text(x(low_end) + 4, y + 17, f"n/a (n={n})", fill=MUTED, size=11))
            continue
        start, end = sorted((x(0), x(value)))
        body.append(
            f'<rect x="{start:.1f}" y="{y + 5}" width="{max(end - start, 1):.1f}" height="{row_h - 12}" fill="{escape(colours.get(name, ACCENT))}" rx="2"/>'
        )
        if ci:
            lo, hi = x(ci[0]), x(ci[1])
            mid = y + row_h / 2 - 1
            body.append(
                f'<line x1="{lo:.1f}" y1="{mid:.1f}" x2="{hi:.1f}" y2="{mid:.1f}" class="chart-ink" stroke="{INK}" stroke-width="1.5"/>'
            )
            for cap in (lo, hi):
                body.append(
                    f'<line x1="{cap:.1f}" y1="{mid - 6:.1f}" x2="{cap:.1f}" y2="{mid + 6:.1f}" class="chart-ink" stroke="{INK}" stroke-width="1.5"/>'
                )
        interval = f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else ""
        body.append(_text(left + plot + 8, y + 17, f"{value:.2f}{interval} n={n}", size=11))
    return _svg(width, height, title, body, "bars")


def _shade(share: float) -> str:
    """White to the accent blue, by share in [0, 1]."""
    share = min(max(share, 0.0), 1.0)
    r, g, b = (round(255 + (t - 255) * share) for t in (36, 88, 198))
    return f"#{r:02x}{g:02x}{b:02x}"


def _grid(
    title: str, rows: Sequence[str], cols: Sequence[str], cells: list[list[tuple[float | None, str]]], corner: str
) -> Markup:
    """A labelled grid of (share for the shade or None for blank, text) cells."""
    left, top, cell = 120, 48, 64
    width, height = left + cell * len(cols) + 10, top + cell * len(rows) + 10
    body = [
        _text(0, 16, title, weight="600", size=13),
        _text(left - 8, top - 10, corner, anchor="end", fill=MUTED, size=11),
    ]
    for j, name in enumerate(cols):
        body.append(_text(left + j * cell + cell / 2, top - 10, name, anchor="middle", size=11))
    for i, name in enumerate(rows):
        y = top + i * cell
        body.append(_text(left - 8, y + cell / 2 + 4, name, anchor="end", size=11))
        for j, (share, text) in enumerate(cells[i]):
            x = left + j * cell
            # A shaded cell keeps its colours in either theme; a blank one follows the theme.
            fill, blank = (BLANK, ' class="chart-blank"') if share is None else (_shade(share), "")
            body.append(f'<rect x="{x}" y="{y}"{blank} width="{cell - 2}" height="{cell - 2}" fill="{fill}" rx="3"/>')
            ink = "#ffffff" if share is not None and share > 0.55 else INK
            body.append(
                _text(
                    x + cell / 2 - 1, y + cell / 2 + 4, text, anchor="middle", fill=ink, size=12, themed=share is None
                )
            )
    return _svg(width, height, title, body, "grid")


def pair_heatmap(title: str, names: Sequence[str], pairs: Mapping[str, Mapping[str, object]]) -> Markup:
    """Annotator x annotator grid of ``pairs["A|B"]["overall"]`` (symmetric; diagonal blank)."""
    cells = []
    for a in names:
        row = []
        for b in names:
            pair = pairs.get(pair_key(*sorted((a, b)))) if a != b else None
            value = pair.get("overall") if pair else None
            row.append((value, _fmt(value) if pair else ("" if a == b else "-")))
        cells.append(row)
    return _grid(title, names, names, cells, "")


def confusion_grid(title: str, labels: Sequence[str | None], matrix: Sequence[Sequence[int]]) -> Markup:
    """Token confusion counts, shaded by each row's share (None = no span)."""
    names = ["none" if label is None else label for label in labels]
    cells = []
    for row in matrix:
        total = sum(row)
        cells.append([(count / total if total else None, str(count)) for count in row])
    return _grid(title, names, names, cells, "first \\ second")


PALETTE = ("#2458c6", "#d1495b", "#2a9d8f", "#e9a23b", "#6a4c93", "#3d5a80", "#8d6e63", "#00798c")


def line_chart(title: str, x_label: str, series: Sequence[tuple[str, Sequence[tuple[float, float | None]]]]) -> Markup:
    """Lines of (x, y) points, one per named series, y on a 0..1 axis; a None y breaks nothing, it is skipped.

    The first series is drawn thicker (the overall figure); a legend names each
    series by its colour. x is scaled from 0 to the largest x.
    """
    left, top, plot_w, plot_h, legend_w = 44, 30, 380, 200, 150
    width, height = left + plot_w + 20 + legend_w, top + plot_h + 44
    x_max = max([x for _, points in series for x, _ in points] + [1])

    def px(x: float) -> float:
        return left + x / x_max * plot_w

    def py(y: float) -> float:
        return top + (1 - y) * plot_h

    body = [_text(0, 16, title, weight="600", size=13)]
    for tick in (0, 0.25, 0.5, 0.75, 1):
        body.append(
            f'<line x1="{left}" y1="{py(tick):.1f}" x2="{left + plot_w}" y2="{py(tick):.1f}" class="chart-line" stroke="{LINE}"/>'
        )
        body.append(_text(left - 6, py(tick) + 4, f"{tick:g}", anchor="end", fill=MUTED, size=11))
    for x in sorted({x for _, points in series for x, _ in points}):
        body.append(_text(px(x), top + plot_h + 16, f"{x:g}", anchor="middle", fill=MUTED, size=11))
    body.append(_text(left + plot_w / 2, height - 6, x_label, anchor="middle", fill=MUTED, size=11))
    for i, (name, points) in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        known = [(px(x), py(y)) for x, y in sorted(points) if y is not None]
        stroke = 3 if i == 0 else 1.5
        if len(known) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in known)
            body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="{stroke}"/>')
        for x, y in known:
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{stroke + 1}" fill="{colour}"/>')
        legend_y = top + 6 + i * 18
        body.append(
            f'<line x1="{left + plot_w + 20}" y1="{legend_y:.1f}" x2="{left + plot_w + 36}" y2="{legend_y:.1f}" '
            f'stroke="{colour}" stroke-width="{stroke}"/>'
        )
        body.append(_text(left + plot_w + 42, legend_y + 4, name, size=11))
    return _svg(width, height, title, body, "lines")


def learning_curve_chart(points: Sequence[Mapping[str, object]]) -> Markup:
    """F on dev, overall and per label, against the number of training sentences (learning-curve records)."""

    def f(scores: object) -> float | None:
        value = scores.get("f") if isinstance(scores, Mapping) else None
        return float(value) if isinstance(value, int | float) else None

    def per_label(point: Mapping[str, object]) -> Mapping[str, object]:
        labels = point.get("per_label")
        return labels if isinstance(labels, Mapping) else {}

    labels = sorted({label for p in points for label in per_label(p)})
    xs = [float(p["sentences"]) for p in points]  # type: ignore[arg-type]  # a record's count of sentences
    series = [("all labels", [(x, f(p.get("overall"))) for x, p in zip(xs, points, strict=True)])]
    series += [(label, [(x, f(per_label(p).get(label))) for x, p in zip(xs, points, strict=True)]) for label in labels]
    return line_chart("F on dev by training sentences", "training sentences", series)


def learning_curve_figure(curve: Mapping[str, Any]) -> dict[str, Any]:
    """A stored learning curve (``ModelVersion.curve``) as a page shows it: ``chart`` (SVG) and
    ``verdict`` (:func:`annotator.export.curve.curve_verdict`, in words) once every share is scored,
    else None; ``trained`` of ``of`` shares; ``error``, why the curve was not trained, or None."""
    from ..export.curve import curve_verdict

    points = curve.get("points") or []
    fractions = curve.get("fractions") or []
    done = len(points) == len(fractions) and len(points) > 1
    return {
        "error": curve.get("error"),
        "trained": len(points),
        "of": len(fractions),
        "chart": learning_curve_chart(points) if done else None,
        "verdict": curve_verdict(points).text if done else None,
    }
