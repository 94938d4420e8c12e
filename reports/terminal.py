"""Tables in the terminal (Rich): the same cell contents as the HTML (:func:`reports.gt.cell_parts`) — main
value with its marker, CI, n, change and the adjusted p-values on dim lines. Every text from the data is a
Rich ``Text`` (never parsed as console markup, so a name like ``[link=…]`` stays text)."""

from __future__ import annotations

from typing import Any

from reports.gt import table_cell_parts
from reports.tabledata import TableData


def rich_table(t: TableData) -> Any:
    """A Rich table: one column per display column, each cell on several lines."""
    from rich.table import Table
    from rich.text import Text

    idx = t.index()
    rt = Table(title=Text(t.title), caption=Text(t.source_note), caption_justify="left", show_lines=True)
    rt.add_column(Text(t.stub_label or ""), style="bold")
    for _, lab in t.columns:
        rt.add_column(Text(lab), justify="right")
    for rk, rlab in t.rows:
        cells = []
        for ck, _ in t.columns:
            c = table_cell_parts(t, idx, rk, ck)
            txt = Text(c["main"])
            if c["mark"]:
                txt.append(c["mark"], style="bold red")
            for _, line, mark in c["lines"]:
                txt.append("\n" + line, style="dim")
                if mark:
                    txt.append(mark, style="bold red")
            cells.append(txt)
        rt.add_row(Text(rlab), *cells)
    return rt


def print_table(t: TableData, console: Any = None) -> None:
    """Print a table with Rich, followed by its footnotes."""
    from rich.console import Console

    console = console or Console()
    from rich.text import Text

    console.print(rich_table(t))
    for note in t.footnotes:
        console.print(Text(note, style="dim"))
