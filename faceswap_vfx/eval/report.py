"""The report on disk: ``report.json`` (every figure), ``index.html`` (tables and image
grids a person reads in a browser) and the grids as PNG files.

A grid is rows of tiles with row and column labels. Each grid is written twice: as one
PNG (``<name>.png``, tiles 2 px apart, to share outside the report) and as one PNG per
tile under ``tiles/`` that the HTML lays out in a table with the labels and captions.
Tiles are the working-space crops, clipped to [0, 1] and stored as 8-bit sRGB-encoded PNG.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from faceswap_vfx.io.atomic import atomic_write_text
from faceswap_vfx.io.image import Image, write_image

REPORT_FORMAT = "faceswap_vfx.eval_report"
REPORT_VERSION = 1
GAP = 2
BACKGROUND = 40


@dataclass
class Tile:
    """One image ``(3, H, W)`` in [0, 1] and a caption under it."""

    image: torch.Tensor
    caption: str = ""


@dataclass
class Grid:
    """``rows``: ``(label, tiles)``; every row has ``len(columns)`` tiles (None: empty)."""

    name: str
    title: str
    columns: list[str]
    rows: list[tuple[str, list[Tile | None]]] = field(default_factory=list)
    note: str = ""


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """``(3, H, W)`` float in [0, 1] -> ``(H, W, 3)`` uint8."""
    a = image.detach().float().clamp(0.0, 1.0).permute(1, 2, 0).cpu().numpy()
    return np.round(a * 255.0).astype(np.uint8)


def grid_image(grid: Grid) -> np.ndarray:
    """The whole grid as ``(H, W, 3)`` uint8, tiles :data:`GAP` px apart."""
    tiles = [t for _, row in grid.rows for t in row if t is not None]
    if not tiles:
        return np.full((8, 8, 3), BACKGROUND, np.uint8)
    h = max(t.image.shape[1] for t in tiles)
    w = max(t.image.shape[2] for t in tiles)
    n_rows, n_cols = len(grid.rows), len(grid.columns)
    out = np.full((n_rows * (h + GAP) + GAP, n_cols * (w + GAP) + GAP, 3), BACKGROUND, np.uint8)
    for i, (_, row) in enumerate(grid.rows):
        for j, tile in enumerate(row):
            if tile is None:
                continue
            a = to_uint8(tile.image)
            y, x = GAP + i * (h + GAP), GAP + j * (w + GAP)
            out[y:y + a.shape[0], x:x + a.shape[1]] = a
    return out


def _png(a: np.ndarray, path: Path) -> None:
    write_image(Image.from_array(a.astype(np.float32) / 255.0, dtype=np.uint8), path)


def write_grid(grid: Grid, folder: Path) -> str:
    """Write ``<name>.png`` and its tiles under ``folder``; return the grid's HTML."""
    _png(grid_image(grid), folder / f"{grid.name}.png")
    esc = html.escape
    head = "".join(f"<th>{esc(c)}</th>" for c in grid.columns)
    body = []
    for i, (label, row) in enumerate(grid.rows):
        cells = []
        for j, tile in enumerate(row):
            if tile is None:
                cells.append("<td></td>")
                continue
            rel = f"tiles/{grid.name}_r{i:02d}_c{j:02d}.png"
            _png(to_uint8(tile.image), folder / rel)
            cap = f"<div class='cap'>{esc(tile.caption)}</div>" if tile.caption else ""
            cells.append(f"<td><img src='{rel}' alt='{esc(label)}, {esc(grid.columns[j])}'>"
                         f"{cap}</td>")
        body.append(f"<tr><th class='row'>{esc(label)}</th>{''.join(cells)}</tr>")
    note = f"<p class='note'>{esc(grid.note)}</p>" if grid.note else ""
    return (f"<h3>{esc(grid.title)}</h3>{note}<table class='grid'><tr><th></th>{head}</tr>"
            f"{''.join(body)}</table><p class='png'>As one image: "
            f"<a href='{grid.name}.png'>{grid.name}.png</a></p>")


def fmt(value: Any, digits: int = 4) -> str:
    """A figure for a table: 4 significant digits, 'inf'/'-' for non-finite/missing."""
    if value is None:
        return "-"
    if isinstance(value, float) and not math.isfinite(value):
        return "inf" if value > 0 else "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return html.escape(str(value))


def table(header: Sequence[str], rows: Sequence[Sequence[Any]], caption: str = "") -> str:
    """An HTML table of figures; the first column is a row label."""
    esc = html.escape
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(
        f"<th class='row'>{fmt(c)}</th>" if k == 0 else f"<td>{fmt(c)}</td>"
        for k, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table class='figures'>{cap}<tr>{head}</tr>{body}</table>"


def json_safe(value: Any) -> Any:
    """Non-finite floats -> None (strict JSON), tuples -> lists, paths -> text."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


CSS = """
body { font-family: sans-serif; margin: 2em; background: #fafafa; color: #222; max-width: 1400px; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
table.figures { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
table.figures td, table.figures th { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
table.figures th.row { text-align: left; background: #f0f0f0; }
table.figures caption { caption-side: bottom; text-align: left; font-size: 0.85em; color: #555; }
table.grid { border-collapse: collapse; margin: 0.5em 0; }
table.grid td, table.grid th { padding: 2px; font-size: 0.75em; text-align: center;
  vertical-align: top; }
table.grid th.row { text-align: right; padding-right: 6px; vertical-align: middle; }
table.grid img { width: 128px; height: 128px; image-rendering: pixelated; display: block; }
.cap { font-size: 0.9em; color: #444; }
.note, .png { font-size: 0.85em; color: #555; max-width: 1100px; }
ul.notes li { margin: 0.3em 0; max-width: 1100px; }
"""


def write_report(out: Path, title: str, sections: Sequence[tuple[str, str]],
                 figures: dict[str, Any]) -> tuple[Path, Path]:
    """Write ``index.html`` from ``(heading, html)`` sections and ``report.json`` from
    ``figures`` (with format and version added); returns both paths."""
    esc = html.escape
    parts = [f"<h2>{esc(h)}</h2>{body}" for h, body in sections]
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{esc(title)}</title>"
            f"<style>{CSS}</style></head><body><h1>{esc(title)}</h1>"
            f"<p>All figures: <a href='report.json'>report.json</a></p>{''.join(parts)}"
            "</body></html>\n")
    atomic_write_text(out / "index.html", page)
    body = {"format": REPORT_FORMAT, "version": REPORT_VERSION, **figures}
    atomic_write_text(out / "report.json",
                      json.dumps(json_safe(body), indent=1, allow_nan=False) + "\n")
    return out / "index.html", out / "report.json"
