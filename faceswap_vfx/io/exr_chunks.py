"""Is an EXR file complete? A cheap check on its chunk offset tables, before any decoding.

An OpenEXR file is: magic and version (8 bytes), the header(s) (attributes, each ``name\\0
type\\0 int32 size, value``, a header ending with a 0 byte; a multi-part file ends its list
of headers with one more 0 byte), then one offset table per part (``uint64`` per chunk), then
the chunks. A scan-line chunk starts with its part number (multi-part files only), its first
line (int32) and the size of its pixel data (int32); a tile's with four int32 tile
coordinates, then the size. A writer that dies leaves zero or dangling offsets, or a last
chunk cut short, while the header still reads: :func:`chunks_complete` finds every one of
them by reading the tables and each chunk's few header bytes (OpenEXR's file layout,
https://openexr.com/en/latest/OpenEXRFileLayout.html).
"""

from __future__ import annotations

import math
import os
import struct
from pathlib import Path

MAGIC = b"\x76\x2f\x31\x01"
_TILED, _DEEP, _MULTIPART = 0x200, 0x800, 0x1000
# scan lines per chunk of each compression (OpenEXR's Compression enum order)
_LINES = {0: 1, 1: 1, 2: 1, 3: 16, 4: 32, 5: 16, 6: 32, 7: 32, 8: 32, 9: 256, 10: 256,
          11: 16}


class _Malformed(Exception):
    pass


def _cstring(data: bytes, pos: int) -> tuple[str, int]:
    end = data.index(b"\0", pos)
    return data[pos:end].decode("latin-1"), end + 1


def _headers(data: bytes, multipart: bool) -> tuple[list[dict[str, tuple[str, bytes]]], int]:
    """The headers' attributes (name -> (type, value bytes)) and where the tables begin."""
    pos, headers = 8, []
    while True:
        attrs: dict[str, tuple[str, bytes]] = {}
        while data[pos] != 0:
            name, pos = _cstring(data, pos)
            kind, pos = _cstring(data, pos)
            (size,) = struct.unpack_from("<i", data, pos)
            pos += 4
            if size < 0 or pos + size > len(data):
                raise _Malformed
            attrs[name] = (kind, data[pos:pos + size])
            pos += size
        pos += 1
        headers.append(attrs)
        if not multipart:
            return headers, pos
        if data[pos] == 0:
            return headers, pos + 1


def _chunk_count(attrs: dict[str, tuple[str, bytes]], multipart: bool) -> int | None:
    if "chunkCount" in attrs:
        return struct.unpack("<i", attrs["chunkCount"][1])[0]
    if multipart or "tiles" in attrs:
        return None  # a tiled single-part file: its count needs the tile layout; not checked
    xmin, ymin, xmax, ymax = struct.unpack("<4i", attrs["dataWindow"][1])
    lines = _LINES.get(attrs["compression"][1][0])
    return None if lines is None else math.ceil((ymax - ymin + 1) / lines)


def chunks_complete(path: str | os.PathLike) -> bool | None:
    """True when every chunk the offset tables list lies whole inside the file; False when
    one is missing, points outside the file or is cut short; None when the file is not an
    EXR this check reads (deep data, a tiled single-part file without ``chunkCount``)."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(min(size, 1 << 20))  # headers are small; grow if one is not
        if head[:4] != MAGIC or len(head) < 8:
            return False
        (version,) = struct.unpack_from("<I", head, 4)
        if version & _DEEP:
            return None
        multipart = bool(version & _MULTIPART)
        try:
            headers, pos = _headers(head, multipart)
        except (IndexError, struct.error, _Malformed):
            if len(head) == size:
                return False  # the headers run off the end of the file
            f.seek(0)
            head = f.read()
            try:
                headers, pos = _headers(head, multipart)
            except (IndexError, struct.error, _Malformed):
                return False
        counts = [_chunk_count(h, multipart) for h in headers]
        if any(c is None or c < 0 for c in counts):
            return None
        total = sum(counts)
        f.seek(pos)
        table = f.read(8 * total)
        if len(table) < 8 * total:
            return False
        offsets = struct.unpack(f"<{total}Q", table)
        tiled = [bool(version & _TILED) or "tiles" in h for h in headers]
        part_of = [p for p, c in enumerate(counts) for _ in range(c)]
        first_chunk = pos + 8 * total
        for offset, part in zip(offsets, part_of, strict=True):
            lead = 4 * multipart + (16 if tiled[part] else 4)  # part, coordinates
            if offset < first_chunk or offset + lead + 4 > size:
                return False
            f.seek(offset + lead)
            (data_size,) = struct.unpack("<i", f.read(4))
            if data_size < 0 or offset + lead + 4 + data_size > size:
                return False
    return True
