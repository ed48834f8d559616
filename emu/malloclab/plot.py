"""Drawing a trace's run: utilization over time and the heap map.

Both are written as SVG by this module (no dependency), or as PNG with
matplotlib when it is installed (`pip install -e '.[plot]'`).

  NAME-util.svg   payload and footprint (heap + mappings) in bytes, by op index
  NAME-heap.svg   one row per sample (every K ops, top to bottom), the heap's
                  address range left to right, blocks coloured by state
"""

from __future__ import annotations

from pathlib import Path

from ..errors import UsageError
from ..heap import ALLOCATED, CORRUPT, FREE, OVERHEAD
from .lab import TraceResult

WIDTH, HEIGHT, MARGIN = 900, 360, 60
COLOURS = {ALLOCATED: "#3b6fb6", FREE: "#a6d96a", OVERHEAD: "#999999", CORRUPT: "#d7191c"}


def write_plots(result: TraceResult, directory, fmt: str = "svg") -> list[Path]:
    """Write the plots of one trace; returns the files written."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--plot {directory}: {exc.strerror}") from None
    if fmt == "png":
        return _png(result, directory)
    util = directory / f"{result.name}-util.svg"
    util.write_text(util_svg(result))
    written = [util]
    if result.samples:
        heap = directory / f"{result.name}-heap.svg"
        heap.write_text(heap_svg(result))
        written.append(heap)
    return written


def util_svg(result: TraceResult) -> str:
    series = result.series or [(0, 0)]
    top = max(max(p, f) for p, f in series) or 1
    n = max(len(series) - 1, 1)

    def point(i, value):
        x = MARGIN + (WIDTH - 2 * MARGIN) * i / n
        y = HEIGHT - MARGIN - (HEIGHT - 2 * MARGIN) * value / top
        return f"{x:.1f},{y:.1f}"
    payload = " ".join(point(i, p) for i, (p, _) in enumerate(series))
    footprint = " ".join(point(i, f) for i, (_, f) in enumerate(series))
    title = f"{result.name}: payload and footprint by op (util {result.util:.1%})"
    return _svg(WIDTH, HEIGHT, [
        _text(WIDTH / 2, 24, title, anchor="middle", size=15),
        _axes(top, len(series)),
        f'<polyline fill="none" stroke="{COLOURS[ALLOCATED]}" stroke-width="1.5" points="{payload}"/>',
        f'<polyline fill="none" stroke="#e66101" stroke-width="1.5" points="{footprint}"/>',
        _text(WIDTH - MARGIN, MARGIN - 8, "payload", anchor="end", fill=COLOURS[ALLOCATED]),
        _text(WIDTH - MARGIN - 70, MARGIN - 8, "footprint", anchor="end", fill="#e66101"),
    ])


def heap_svg(result: TraceResult) -> str:
    samples = result.samples
    blocks = [b for s in samples for b in s.blocks]
    low = min(b.address for b in blocks) if blocks else 0
    high = max(b.address + max(b.size, 1) for b in blocks) if blocks else 1
    span = max(high - low, 1)
    row = max(2.0, min(12.0, (HEIGHT * 2 - 2 * MARGIN) / max(len(samples), 1)))
    height = int(2 * MARGIN + row * len(samples))
    parts = [_text(WIDTH / 2, 24, f"{result.name}: heap map, one row per sample "
                                  f"(addresses {low:#x}..{high:#x})", anchor="middle", size=15)]
    for i, sample in enumerate(samples):
        y = MARGIN + i * row
        for b in sample.blocks:
            x = MARGIN + (WIDTH - 2 * MARGIN) * (b.address - low) / span
            w = max((WIDTH - 2 * MARGIN) * max(b.size, 1) / span, 0.5)
            parts.append(f'<rect x="{x:.2f}" y="{y:.2f}" width="{w:.2f}" height="{row:.2f}" '
                         f'fill="{COLOURS[b.state]}"/>')
        if i % max(1, len(samples) // 10) == 0:
            parts.append(_text(MARGIN - 6, y + row, f"op {sample.op_index}", anchor="end", size=10))
    legend_y = height - MARGIN / 3
    for j, (state, colour) in enumerate(COLOURS.items()):
        x = MARGIN + j * 130
        parts.append(f'<rect x="{x}" y="{legend_y - 10}" width="12" height="12" fill="{colour}"/>')
        parts.append(_text(x + 18, legend_y, state))
    return _svg(WIDTH, height, parts)


def _axes(top: int, ops: int) -> str:
    x0, y0, x1, y1 = MARGIN, HEIGHT - MARGIN, WIDTH - MARGIN, MARGIN
    return "".join([
        f'<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y0}" stroke="black"/>',
        f'<line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y1}" stroke="black"/>',
        _text(x0 - 6, y1 + 4, f"{top:,} B", anchor="end", size=10),
        _text(x0 - 6, y0, "0", anchor="end", size=10),
        _text(x1, y0 + 16, f"op {ops}", anchor="end", size=10),
    ])


def _text(x, y, text, anchor="start", size=12, fill="black") -> str:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-family="sans-serif" font-size="{size}" '
            f'text-anchor="{anchor}" fill="{fill}">{escaped}</text>')


def _svg(width: int, height: int, parts: list[str]) -> str:
    body = "\n".join(parts)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}">\n<rect width="100%" height="100%" fill="white"/>\n'
            f"{body}\n</svg>\n")


def _png(result: TraceResult, directory: Path) -> list[Path]:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError("PNG plots need matplotlib: .venv/bin/pip install -e '.[plot]' "
                         "(or use the default SVG)") from None
    written = []
    fig, ax = plt.subplots(figsize=(9, 3.6))
    ax.plot([p for p, _ in result.series], label="payload")
    ax.plot([f for _, f in result.series], label="footprint")
    ax.set_xlabel("op")
    ax.set_ylabel("bytes")
    ax.set_title(f"{result.name}: util {result.util:.1%}")
    ax.legend()
    path = directory / f"{result.name}-util.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    written.append(path)
    if result.samples:
        fig, ax = plt.subplots(figsize=(9, 6))
        for i, sample in enumerate(result.samples):
            for b in sample.blocks:
                ax.broken_barh([(b.address, max(b.size, 1))], (i, 1), color=COLOURS[b.state])
        ax.invert_yaxis()
        ax.set_xlabel("address")
        ax.set_ylabel("sample")
        ax.set_title(f"{result.name}: heap map")
        path = directory / f"{result.name}-heap.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written
