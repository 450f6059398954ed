"""Table 1 of Naruniec et al. 2020 as printed, and how this package reads it.

Each row is ``(level, kernel, out_channels, params)`` with the output channels and the
parameter count exactly as printed (the count as text, e.g. ``"2.3k"``). Where the table
contradicts itself, this package follows the reading noted here:

* Encoder level 6, first conv: printed ``32`` channels out but ``37k`` parameters. 64->32
  would be 18.5k and make the next conv (32->128) 37k instead of the printed 74k; 64->64 gives
  36,928 and 74k for 64->128, the ``c->c, c->2c`` pattern of every other level. We build 64.
* Encoder level 8, first row: a 1x1 conv 3->16 (64 params) listed inside level 8, which the
  text says is "two convolutional layers". It is level 8's from-RGB layer, the one kept after
  training; every level here has its own from-RGB (and to-RGB), counted apart from the level.
  Likewise the decoder's last row (1x1 conv 16->3 + sigmoid, 51 params) is level 8's to-RGB.
* Encoder level 0, 4x4 conv: printed ``4.M``; 512->512 4x4 is 4,194,816 (the decoder's
  mirror row prints ``4.2M``).
* "Latent vector ... 513": no layer has 513 parameters; the row names no operation and the
  total (23.1M) is the same with or without it. Nothing is built for it.
* Decoder level 0, "Conv 4x4" from 512x1x1 to 512x4x4 can only be a transposed convolution
  (a dense layer to 4x4); its 4.2M parameters say so.
* Params are rounded to 2-3 significant digits: compare with :func:`printed_matches`.
"""

from __future__ import annotations

Row = tuple[int, int, int, str]

ENCODER: tuple[Row, ...] = (
    (8, 1, 16, "64"), (8, 3, 16, "2.3k"), (8, 3, 32, "4.6k"),
    (7, 3, 32, "9.2k"), (7, 3, 64, "18k"),
    (6, 3, 32, "37k"), (6, 3, 128, "74k"),
    (5, 3, 128, "148k"), (5, 3, 256, "295k"),
    (4, 3, 256, "590k"), (4, 3, 512, "1.2M"),
    (3, 3, 512, "2.4M"), (3, 3, 512, "2.4M"),
    (2, 3, 512, "2.4M"), (2, 3, 512, "2.4M"),
    (1, 3, 512, "2.4M"), (1, 3, 512, "2.4M"),
    (0, 3, 512, "2.4M"), (0, 4, 512, "4.M"),
)
ENCODER_LATENT_ROW = "513"
ENCODER_TOTAL = "23.1M"

DECODER: tuple[Row, ...] = (
    (0, 4, 512, "4.2M"), (0, 3, 512, "2.4M"),
    (1, 3, 512, "2.4M"), (1, 3, 512, "2.4M"),
    (2, 3, 512, "2.4M"), (2, 3, 512, "2.4M"),
    (3, 3, 512, "2.4M"), (3, 3, 512, "2.4M"),
    (4, 3, 256, "1.2M"), (4, 3, 256, "590k"),
    (5, 3, 128, "295k"), (5, 3, 128, "148k"),
    (6, 3, 64, "74k"), (6, 3, 64, "37k"),
    (7, 3, 32, "18k"), (7, 3, 32, "9.2k"),
    (8, 3, 16, "4.6k"), (8, 3, 16, "2.3k"), (8, 1, 3, "51"),
)
DECODER_TOTAL = "23.1M"

FROM_RGB_ROW = 0
"""Index in :data:`ENCODER` of level 8's from-RGB."""
TO_RGB_ROW = len(DECODER) - 1
"""Index in :data:`DECODER` of level 8's to-RGB."""

_SCALE = {"": 1, "k": 1_000, "M": 1_000_000}


def parse_printed(text: str) -> tuple[float, float]:
    """``"2.3k" -> (2300.0, 50.0)``: the value and half a unit of its last printed digit."""
    suffix = text[-1] if text[-1] in "kM" else ""
    digits = text[: len(text) - len(suffix)]
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    scale = _SCALE[suffix]
    return float(digits) * scale, 0.5 * scale * 10.0**-decimals


def printed_matches(count: int, text: str) -> bool:
    """Whether ``count`` parameters would be printed as ``text`` (to its precision)."""
    value, half_unit = parse_printed(text)
    return abs(count - value) <= half_unit


def level_sum(rows: tuple[Row, ...], level: int, skip: tuple[int, ...] = ()) -> float:
    """Sum of the printed parameter counts of one level's rows (rows in ``skip`` left out)."""
    return sum(parse_printed(r[3])[0] for i, r in enumerate(rows) if r[0] == level
               and i not in skip)
