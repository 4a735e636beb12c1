"""Small server-side SVG charts: plain numbers in, escaped SVG markup out.

No Flask, no JavaScript; colours go in SVG presentation attributes (fill=,
stroke=), which the Content-Security-Policy allows, never in style=. Every
piece of text passes through ``markupsafe.escape``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

INK, MUTED, LINE, ACCENT = "#1d2330", "#5f6b7a", "#d9dee5", "#2458c6"


def _text(
    x: float, y: float, text: object, anchor: str = "start", fill: str = INK, size: int = 12, weight: str = "normal"
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}" font-size="{size}" '
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
        body.append(f'<line x1="{x(tick):.1f}" y1="26" x2="{x(tick):.1f}" y2="{height - 22}" stroke="{LINE}"/>')
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
                f'<line x1="{lo:.1f}" y1="{mid:.1f}" x2="{hi:.1f}" y2="{mid:.1f}" stroke="{INK}" stroke-width="1.5"/>'
            )
            for cap in (lo, hi):
                body.append(
                    f'<line x1="{cap:.1f}" y1="{mid - 6:.1f}" x2="{cap:.1f}" y2="{mid + 6:.1f}" stroke="{INK}" stroke-width="1.5"/>'
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
            fill = "#f1f3f6" if share is None else _shade(share)
            body.append(f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="{fill}" rx="3"/>')
            ink = "#ffffff" if share is not None and share > 0.55 else INK
            body.append(_text(x + cell / 2 - 1, y + cell / 2 + 4, text, anchor="middle", fill=ink, size=12))
    return _svg(width, height, title, body, "grid")


def pair_heatmap(title: str, names: Sequence[str], pairs: Mapping[str, Mapping[str, object]]) -> Markup:
    """Annotator x annotator grid of ``pairs["A|B"]["overall"]`` (symmetric; diagonal blank)."""
    cells = []
    for a in names:
        row = []
        for b in names:
            pair = pairs.get("|".join(sorted((a, b)))) if a != b else None
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
