"""Inline SVG charts of our own: no scripts, no external assets, readable offline."""

from __future__ import annotations

from html import escape

W, H, PAD = 640, 220, 40


def _frame(title: str, body: str, height: int = H) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{W}" height="{height}" '
        f'viewBox="0 0 {W} {height}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>"
        f'<rect x="0" y="0" width="{W}" height="{height}" fill="#fff" stroke="#ddd"/>'
        f'<text x="{PAD}" y="18" font-size="13" font-weight="bold">{escape(title)}</text>'
        f"{body}</svg>"
    )


def line_chart(
    title: str, values: list[float], labels: list[str], marker: int | None = None, unit: str = ""
) -> str:
    """A line over evenly spaced points; `marker` draws a vertical line at that index."""
    if not values:
        return _frame(title, '<text x="40" y="60">no data</text>')
    top = max(values) or 1.0
    step = (W - 2 * PAD) / max(len(values) - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return PAD + i * step, H - PAD - (H - 2 * PAD - 10) * v / top

    pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, v) for i, v in enumerate(values)))
    body = [
        f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - PAD}" y2="{H - PAD}" stroke="#999"/>',
        f'<text x="4" y="{PAD + 14}" font-size="10">{top:.3g}{escape(unit)}</text>',
        f'<text x="4" y="{H - PAD}" font-size="10">0</text>',
        f'<polyline class="series" points="{pts}" fill="none" stroke="#c0392b" stroke-width="2"/>',
    ]
    for i in (0, len(labels) // 2, len(labels) - 1):
        x, _ = xy(i, 0)
        body.append(
            f'<text x="{x:.1f}" y="{H - PAD + 16}" font-size="10" '
            f'text-anchor="middle">{escape(labels[i])}</text>'
        )
    if marker is not None:
        x, _ = xy(marker, 0)
        body.append(
            f'<line class="onset" x1="{x:.1f}" y1="{PAD - 10}" x2="{x:.1f}" '
            f'y2="{H - PAD}" stroke="#2c3e50" stroke-dasharray="4 3"/>'
            f'<text x="{x + 4:.1f}" y="{PAD - 2}" font-size="10">onset</text>'
        )
    return _frame(title, "".join(body))


def bar_chart(title: str, labels: list[str], values: list[float]) -> str:
    """Horizontal bars, one per label, scaled to the largest value."""
    if not values:
        return _frame(title, '<text x="40" y="60">no data</text>', 80)
    top = max(values) or 1.0
    row, left = 24, 200
    height = PAD + row * len(values) + 10
    body = []
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        y = PAD + i * row
        width = max(2.0, (W - left - 60) * v / top)
        body.append(
            f'<text x="8" y="{y + 15}" font-size="11">{escape(label[:30])}</text>'
            f'<rect class="bar" x="{left}" y="{y + 3}" width="{width:.1f}" height="{row - 8}"'
            f' fill="#2980b9"/><text x="{left + width + 4:.1f}" y="{y + 15}" '
            f'font-size="11">{v:g}</text>'
        )
    return _frame(title, "".join(body), height)


def share_chart(title: str, part: int, whole: int) -> str:
    """A single stacked bar: the affected part of the whole."""
    frac = part / whole if whole else 0.0
    span = W - 2 * PAD
    body = (
        f'<rect class="bar" x="{PAD}" y="50" width="{span}" height="30" fill="#bdc3c7"/>'
        f'<rect class="bar" x="{PAD}" y="50" width="{max(span * frac, 2):.1f}" height="30" '
        f'fill="#c0392b"/><text x="{PAD}" y="100" font-size="12">{part} of {whole} '
        f"requests affected ({frac:.1%})</text>"
    )
    return _frame(title, body, 120)
