"""The report's table: aligned text for a terminal, or markdown for docs/performance.md.

Both show the same rows and columns; markdown escapes the one character a cell
could hold that would break a row (``|``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from benchmarks.common import Row

HEADER = Row("measure", "doer", "baseline", "vs baseline", "target", "result")


def cells(row: Row) -> list[str]:
    return [str(value) for value in dataclasses.astuple(row)]


def text_table(rows: Sequence[Row]) -> str:
    """Columns padded to their widest cell, two spaces apart."""
    table = [cells(row) for row in [HEADER, *rows]]
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    table.insert(1, ["-" * width for width in widths])
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in table
    )


def markdown_table(rows: Sequence[Row]) -> str:
    """A GitHub markdown table, ready to paste."""
    table = [cells(row) for row in [HEADER, *rows]]
    table.insert(1, ["---"] * len(table[0]))
    return "\n".join(
        "| " + " | ".join(cell.replace("|", "\\|") for cell in line) + " |" for line in table
    )
