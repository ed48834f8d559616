"""Heap pictures for the platforms that show them: one per public trace.

The payload view of emu malloclab's plots (every live payload by op, the rest
of the heap as space): where fragmentation comes from, at a glance. PNG, at a
low resolution, so a report with six of them stays small.
"""

from __future__ import annotations

import io

from ....malloclab.heapmap import payload_map
from ...results import Image

DPI = 50


def heap_picture(result) -> Image:
    """The payload map of one replay, as a PNG Image."""
    from ....malloclab.plot import heap_figure, plt
    figure = heap_figure(payload_map(result))
    buffer = io.BytesIO()
    try:
        figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    finally:
        plt.close(figure)
    return Image(f"{result.name}: the heap, op by op", "image/png", buffer.getvalue())


def heap_pictures(results) -> list[Image]:
    """A picture of each replay that got past its first op (nothing to draw before)."""
    return [heap_picture(result) for result in results if result.addrs]
