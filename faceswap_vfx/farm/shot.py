"""What a shot file needs for a farm render: its ``inputs``.

A shot file (:mod:`faceswap_vfx.params`) holds the artist parameters and free-form
``inputs``. ``faceswap-vfx submit`` reads these keys of ``inputs``:

============  ========  ============================================================
key           needed    meaning
============  ========  ============================================================
``plates``    yes       plate sequence pattern (``plate.####.exr``, ``%04d``, ``$F4``)
``out``       yes       output pattern; must hold a frame token
``align``     yes [1]_  alignment file from ``faceswap-vfx align``
``frames``    no        default frame range (``1001-1240``) when ``--frames`` is not given
``model``     yes [2]_  training run folder or exported ``.pt``
``identity``  yes [2]_  identity rendered into the plate
============  ========  ============================================================

.. [1] With ``--align-prepass`` the file need not exist: a first farm task writes it (to
   ``inputs.align``, or ``<out folder>/<shot>.align.json`` when not given) and the render
   tasks wait for it. Every chunk reads the same file, so faces are tracked and smoothed
   over the whole shot, never per chunk.
.. [2] ``model`` and ``identity`` are parameters of the schema (``params.model``,
   ``params.identity``); ``inputs.model``/``inputs.identity`` are accepted when the
   parameter is empty, and a conflicting pair is an error.

Relative paths in ``inputs`` are relative to the shot file's folder; relative paths in
file parameters (``model``, ``matte``, ...) are relative to the folder ``submit`` runs in,
as ``faceswap-vfx render --shot`` reads them. Jobs carry absolute paths: farm machines do
not share the submitter's working folder. Example::

    {"format": "faceswap_vfx.shot", "version": 1,
     "params": {"model": "/jobs/show/models/actor_a.pt", "identity": "actor_a",
                "plate_levels": 2},
     "inputs": {"plates": "plates/plate.####.exr", "out": "swap/swap.####.exr",
                "align": "shot010.align.json", "frames": "1001-1240"}}
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faceswap_vfx.errors import FarmError
from faceswap_vfx.io.sequence import FramePattern, parse_frames
from faceswap_vfx.params import Shot, load_shot

INPUT_KEYS = ("plates", "out", "align", "frames", "model", "identity")


@dataclass(frozen=True)
class ShotInputs:
    """A shot file's farm inputs, checked, with absolute paths; ``align`` is where the
    alignment file is (or, with a pre-pass, will be); ``frames`` may be empty."""

    path: Path
    shot: Shot
    plates: str
    out: str
    align: str
    frames: tuple[int, ...]
    model: str
    identity: str

    @property
    def name(self) -> str:
        """The shot's name: the file name without ``.json`` and ``.shot``."""
        return shot_name(self.path)


def shot_name(path: Path) -> str:
    """``shot010`` for ``.../shot010.shot.json``."""
    return path.name.removesuffix(".json").removesuffix(".shot") or "shot"


def _absolute(value: Any, key: str, folder: Path, path: Path) -> str:
    if not isinstance(value, str) or not value:
        raise FarmError(f"shot file inputs.{key} is not a path: {value!r}", path=path)
    p = Path(value).expanduser()
    return str(p if p.is_absolute() else (folder / p).resolve())


def _param_or_input(shot: Shot, key: str, path: Path) -> str:
    param, given = shot.params.get(key) or "", shot.inputs.get(key) or ""
    if key == "model":  # a parameter as 'render --shot' reads it; an input like the others
        param = str(Path(param).expanduser().resolve()) if param else ""
        given = _absolute(given, key, path.parent, path) if given else ""
    if param and given and param != given:
        raise FarmError(f"shot file gives two {key}s: params.{key} {param!r} and inputs.{key} "
                        f"{given!r}", path=path)
    value = param or given
    if not value:
        raise FarmError(f"shot file has no {key}: set params.{key}", path=path)
    return str(value)


def read_shot_inputs(path: str | Path, *, align_prepass: bool = False) -> ShotInputs:
    """Read and check a shot file's farm inputs (see the module documentation).

    Raises :class:`~faceswap_vfx.errors.FarmError` naming the file for a missing or bad
    input; without ``align_prepass``, also when the alignment file does not exist.
    """
    path = Path(path).resolve()
    shot = load_shot(path)
    folder = path.parent
    unknown = sorted(set(shot.inputs) - set(INPUT_KEYS))
    if unknown:
        raise FarmError(f"shot file has unknown inputs {', '.join(unknown)} (known: "
                        f"{', '.join(INPUT_KEYS)})", path=path)
    for key in ("plates", "out"):
        if key not in shot.inputs:
            raise FarmError(f"shot file has no inputs.{key}", path=path)
    plates = _absolute(shot.inputs["plates"], "plates", folder, path)
    out = _absolute(shot.inputs["out"], "out", folder, path)
    if not FramePattern.parse(out).has_token:
        raise FarmError(f"inputs.out {shot.inputs['out']!r} has no frame token (####, %04d, "
                        f"$F4): every task would write the same file", path=path)
    FramePattern.parse(plates)  # a bad pattern fails here, not on the farm
    if "align" in shot.inputs:
        align = _absolute(shot.inputs["align"], "align", folder, path)
    elif align_prepass:
        align = str(Path(out).parent / f"{shot_name(path)}.align.json")
    else:
        raise FarmError("shot file has no inputs.align: give the alignment file from "
                        "'faceswap-vfx align', or submit with --align-prepass", path=path)
    if not align_prepass and not Path(align).is_file():
        raise FarmError(f"alignment file {align} (inputs.align) not found: make it with "
                        f"'faceswap-vfx align', or submit with --align-prepass", path=path)
    frames = shot.inputs.get("frames")
    return ShotInputs(path, shot, plates, out, align,
                      tuple(parse_frames(str(frames))) if frames else (),
                      _param_or_input(shot, "model", path),
                      _param_or_input(shot, "identity", path))
