"""Drawing a trace's run with matplotlib: utilization over time and the heap maps.

  NAME-util.FMT     payload and footprint by op index (KiB or MiB), the failing
                    op marked
  NAME-heap.FMT     the payload view of the heap (heapmap.py), any allocator
  NAME-blocks.FMT   the block view, when the allocator's layout is known
  NAME-insns.FMT    instructions of each op's call, when they were counted

Figures are built by pure functions (util_figure, heap_figure) that tests read
back (axes, labels, image data); write_plots saves them. Dense data is
rasterized (the heap map is an image; long lines are drawn as pixels inside
the SVG), so a 100,000-op trace's pictures stay well under 1 MB. The
debugger's `heap` can draw the heap it walks with write_heap_snapshot().
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from ..errors import UsageError  # noqa: E402
from .heapmap import COLOURS, HeapMap, block_map, payload_map, raster, snapshot_map  # noqa: E402

DENSE_POINTS = 4000             # longer lines are rasterized
HEAP_BINS = 1000
FAIL_COLOUR = "#d7191c"


def byte_unit(largest: float) -> tuple[float, str]:
    """A divisor and its name for axes showing up to `largest` bytes."""
    for divisor, name in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if largest >= 4 * divisor:
            return divisor, name
    return 1, "bytes"


def util_figure(result) -> Figure:
    """Payload and footprint after each op, in bytes scaled to one unit."""
    fig, ax = plt.subplots(figsize=(9, 4), layout="constrained")
    series = result.series or [(0, 0)]
    divisor, unit = byte_unit(max(max(p, f) for p, f in series))
    ops = range(len(series))
    dense = len(series) > DENSE_POINTS
    ax.plot(ops, [f / divisor for _, f in series], label="footprint (heap + mappings)",
            color="#e66101", linewidth=1.2, rasterized=dense)
    ax.plot(ops, [p / divisor for p, _ in series], label="live payload",
            color=COLOURS["payload"], linewidth=1.2, rasterized=dense)
    ax.set_xlabel("op index")
    ax.set_ylabel(f"memory ({unit})")
    verdict = f"util {result.util:.1%}" if result.valid else "INVALID"
    ax.set_title(f"{result.name}: payload and footprint by op ({verdict})")
    ax.grid(True, alpha=0.3)
    shown = result.ops if result.failed_op is None else max(len(series), result.failed_op + 1)
    ax.set_xlim(0, max(shown - 1, 1))
    ax.set_ylim(bottom=0)
    _mark_failure(ax, result.failed_op, vertical=True)
    ax.legend(loc="upper left")
    return fig


def heap_figure(heap_map: HeapMap, bins: int = HEAP_BINS) -> Figure:
    """The heap map as an image: rows are ops (top to bottom), columns are
    addresses from heap_map.start; the failing op is a red line."""
    rows = len(heap_map.rows)
    fig, ax = plt.subplots(figsize=(9, 3.2 if rows == 1 else 6), layout="constrained")
    divisor, unit = byte_unit(heap_map.span)
    first, last = (heap_map.ops[0], heap_map.ops[-1]) if heap_map.ops else (0, 0)
    extent = (0, heap_map.span / divisor, last + 0.5, first - 0.5)
    image = raster(heap_map, min(bins, max(heap_map.span, 1)))
    if image.size:
        ax.imshow(image, aspect="auto", interpolation="nearest", extent=extent)
    else:                                   # the trace failed before any op completed
        ax.text(0.5, 0.5, "no operation completed: no heap to draw", ha="center",
                va="center", transform=ax.transAxes)
    ax.set_xlabel(f"address - {heap_map.start:#x} ({unit})")
    if rows == 1:
        ax.set_yticks([])
    else:
        ax.set_ylabel("op index")
    title = heap_map.title + (f" ({heap_map.left_out} payloads in far mappings not drawn)"
                              if heap_map.left_out else "")
    ax.set_title(title)
    _mark_failure(ax, heap_map.failed_op, vertical=False)
    handles = [Patch(color=COLOURS[s], label=s) for s in heap_map.states]
    handles.append(Patch(facecolor="white", edgecolor="#999999", label="beyond the heap"))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.12),
              ncols=len(handles), frameon=False)
    return fig


def insns_figure(result) -> Figure:
    """Instructions of each op's allocator call (counted exactly)."""
    fig, ax = plt.subplots(figsize=(9, 4), layout="constrained")
    insns = result.insns or []
    ax.plot(range(len(insns)), insns, ".", markersize=2, color=COLOURS["payload"],
            rasterized=len(insns) > DENSE_POINTS // 8)
    ax.set_xlabel("op index")
    ax.set_ylabel("instructions per op")
    ax.set_title(f"{result.name}: instructions of each op's call "
                 f"(mean {result.insns_per_op or 0:.1f})")
    ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    return fig


def _mark_failure(ax, failed_op, vertical: bool) -> None:
    if failed_op is None:
        return
    line = ax.axvline if vertical else ax.axhline
    line(failed_op, color=FAIL_COLOUR, linewidth=1.5, linestyle="--",
         label=f"op {failed_op} failed")
    ax.annotate(f"op {failed_op} failed", xy=(0.99, 0.02), xycoords="axes fraction",
                ha="right", color=FAIL_COLOUR)


def write_plots(result, directory, fmt: str = "svg") -> list[Path]:
    """Write every plot of one trace into `directory`; returns the files."""
    directory = _directory(directory)
    figures = {"util": util_figure(result), "heap": heap_figure(payload_map(result))}
    blocks = block_map(result)
    if blocks is not None:
        figures["blocks"] = heap_figure(blocks)
    if result.insns:
        figures["insns"] = insns_figure(result)
    written = []
    for suffix, fig in figures.items():
        path = directory / f"{result.name}-{suffix}.{fmt}"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written


def write_heap_snapshot(walk, path, title: str = "heap") -> Path:
    """Draw one heap walk (emu/heap.py's HeapWalk) to `path` (.svg, .png or
    .pdf): the picture `heap` in the debugger can save."""
    path = Path(path)
    _directory(path.parent)
    fig = heap_figure(snapshot_map(walk, title))
    try:
        fig.savefig(path, dpi=100)
    except ValueError as exc:                 # an unknown file type
        raise UsageError(f"{path}: {exc}") from None
    finally:
        plt.close(fig)
    return path


def _directory(directory) -> Path:
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--plot {directory}: {exc.strerror}") from None
    return directory
