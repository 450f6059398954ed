"""The parameter schema: one declaration of every artist-facing parameter.

The CLI flags (`faceswap_vfx.cli.params_cli`), the Nuke gizmo knobs and the Qt panel
are all generated from :data:`PARAMS`; nothing else states a default or a range.

A parameter's value lives in a plain ``dict[str, Any]``. :func:`validate` coerces and
checks one value, :func:`resolve` layers defaults < shot file < explicit overrides.
The shot file (``*.shot.json``) stores the values of one shot, with a format version.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faceswap_vfx.errors import ParameterError, ShotFileError, ShotVersionError

KINDS = ("float", "int", "bool", "enum", "string", "file")


@dataclass(frozen=True)
class Param:
    """One artist-facing parameter.

    ``kind`` is one of :data:`KINDS`. ``minimum``/``maximum`` bound numbers (inclusive),
    ``choices`` lists an enum's values, ``unit`` is shown next to the value ("px",
    "frames", ...), ``group`` groups knobs and widgets, ``help`` is one line.
    """

    name: str
    kind: str
    default: Any
    help: str
    group: str
    minimum: float | None = None
    maximum: float | None = None
    unit: str = ""
    choices: tuple[str, ...] = ()
    power_of_two: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"parameter {self.name}: unknown kind {self.kind!r}")
        if self.kind == "enum" and self.default not in self.choices:
            raise ValueError(f"parameter {self.name}: default not among its choices")

    @property
    def flag(self) -> str:
        """The command-line flag, e.g. ``--plate-colorspace``."""
        return "--" + self.name.replace("_", "-")


PARAMS: dict[str, Param] = {}
"""Every parameter by name, in declaration order (which is the display order)."""

GROUPS: dict[str, str] = {}
"""Group name -> one-line description, in display order."""


def _group(name: str, description: str) -> str:
    GROUPS[name] = description
    return name


def _declare(*params: Param) -> None:
    for p in params:
        if p.name in PARAMS:
            raise ValueError(f"parameter {p.name} declared twice")
        PARAMS[p.name] = p


# --- colour -----------------------------------------------------------------------------
_COLOUR = _group("colour", "OCIO colour spaces of the plate and of the network")
_declare(
    Param("ocio_config", "string", "", "OCIO config path or URI; empty: $OCIO, else ocio://default",
          _COLOUR),
    Param("plate_colorspace", "string", "scene_linear",
          "OCIO colour space (or role) of the plate's RGB", _COLOUR),
    Param("working_colorspace", "string", "srgb_tx",
          "OCIO colour space the network and the face detector see (an sRGB encoding)", _COLOUR),
)

# --- faces: detection, tracking, stabilisation, alignment --------------------------------
_FACES = _group("faces", "Face detection, landmarks, tracking and alignment")
_declare(
    Param("detector", "enum", "hog", "dlib face detector: HOG (fast) or MMOD CNN (robust)",
          _FACES, choices=("hog", "cnn")),
    Param("detector_upsample", "int", 1, "Detector upsampling passes: 0 finds faces from ~80 px,"
          " 1 from ~40 px; each ~4x slower", _FACES, minimum=0, maximum=3),
    Param("landmark_model", "file", "", "68-point shape predictor .dat; empty: bundled",
          _FACES),
    Param("track", "string", "largest", "Face track to use: 'largest', 'all' or a track id",
          _FACES),
    Param("max_gap", "int", 5, "Longest run of missed detections bridged by interpolation",
          _FACES, minimum=0, maximum=100, unit="frames"),
    Param("refine_jitter", "int", 4, "Jittered boxes averaged with the aligned-crop pass that "
          "refines landmarks (0: that pass alone)", _FACES, minimum=0, maximum=32),
    Param("smooth_cutoff", "float", 0.2, "Temporal smoothing cut-off; 0.5: off, lower: smoother",
          _FACES, minimum=0.01, maximum=0.5, unit="cycles/frame"),
    Param("crop_size", "int", 256, "Side of the aligned face crop", _FACES, minimum=4,
          maximum=1024, unit="px", power_of_two=True),
    Param("crop_margin", "float", 0.35, "Border around the face, fraction of face size",
          _FACES, minimum=0.0, maximum=1.0),
)

# --- blend: mask and multi-band blend (Algorithm 1) ---------------------------------------
_BLEND = _group("blend", "Face mask and multi-band blend into the plate")
_declare(
    Param("plate_levels", "int", 2, "Coarsest pyramid levels kept from the plate (its light)",
          _BLEND, minimum=0, maximum=10),
    Param("mask_sigma", "float", 2.0, "Mask softness at every pyramid level", _BLEND,
          minimum=0.0, maximum=16.0, unit="px"),
    Param("mask_grow", "float", 0.0, "Grow (+) or shrink (-) the landmark mask", _BLEND,
          minimum=-64.0, maximum=64.0, unit="px"),
    Param("edge_feather", "float", 4.0, "Softness of the final edge into the plate", _BLEND,
          minimum=0.0, maximum=64.0, unit="px"),
    Param("matte", "file", "", "External matte sequence (e.g. a roto); empty: none", _BLEND),
    Param("matte_channel", "string", "A", "Channel of the matte to use", _BLEND),
    Param("matte_mode", "enum", "multiply", "Matte multiplies or replaces the landmark mask",
          _BLEND, choices=("multiply", "replace")),
    Param("blend_colorspace", "enum", "scene_linear", "Colour space the blend runs in",
          _BLEND, choices=("scene_linear", "compositing_log")),
    Param("output_alpha", "bool", False, "Write the final mask into the output alpha", _BLEND),
)

# --- render: which model and identity ---------------------------------------------------
_RENDER = _group("render", "The trained model and the identity to render")
_declare(
    Param("model", "file", "", "Training run folder or exported .pt", _RENDER),
    Param("identity", "string", "", "Identity whose face is rendered into the plate", _RENDER),
    Param("device", "enum", "auto", "Where the network runs (auto: CUDA when present)",
          _RENDER, choices=("auto", "cpu", "cuda")),
)

# --- expression: a latent direction added at render time --------------------------------
_EXPRESSION = _group("expression", "Expression edit: a direction added to the face's latent")
_declare(
    Param("expression_direction", "file", "", "Latent direction file from 'faceswap-vfx "
          "latent direction' (*.direction.json); empty: none", _EXPRESSION),
    Param("expression_strength", "float", 0.0, "How far to move the face along the direction: "
          "0 off, 1 the whole mean difference between its two groups, negative the other way",
          _EXPRESSION, minimum=-3.0, maximum=3.0),
)


# --- values -----------------------------------------------------------------------------
def _param(name_or_param: str | Param) -> Param:
    if isinstance(name_or_param, Param):
        return name_or_param
    try:
        return PARAMS[name_or_param]
    except KeyError:
        raise ParameterError(f"unknown parameter {name_or_param!r}") from None


def validate(name_or_param: str | Param, value: Any) -> Any:
    """Coerce ``value`` to the parameter's kind and check its range; return it.

    Strings are accepted for every kind (they come from flags, knobs and JSON).
    Raises :class:`ParameterError` naming the parameter and the value.
    """
    p = _param(name_or_param)

    def bad(why: str) -> ParameterError:
        return ParameterError(f"parameter {p.name}: {value!r} {why}")

    if p.kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise bad("is not a boolean")
    if p.kind in ("int", "float"):
        if isinstance(value, bool):
            raise bad(f"is not {'an int' if p.kind == 'int' else 'a number'}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise bad("is not a number") from None
        if not math.isfinite(number):
            raise bad("is not finite")
        if p.kind == "int":
            if number != int(number):
                raise bad("is not a whole number")
            number = int(number)
        if p.minimum is not None and number < p.minimum:
            raise bad(f"is below the minimum {p.minimum:g}")
        if p.maximum is not None and number > p.maximum:
            raise bad(f"is above the maximum {p.maximum:g}")
        if p.power_of_two and (number < 1 or int(number) & (int(number) - 1)):
            raise bad("is not a power of two")
        return number
    if p.kind == "enum":
        if value not in p.choices:
            raise bad(f"is not one of {', '.join(p.choices)}")
        return value
    if not isinstance(value, (str, Path)):
        raise bad("is not text")
    return str(value)


def defaults() -> dict[str, Any]:
    """Every parameter at its default."""
    return {name: p.default for name, p in PARAMS.items()}


def resolve(*layers: Mapping[str, Any] | None) -> dict[str, Any]:
    """Defaults, then each layer in turn (``None`` values are skipped); validated."""
    values = defaults()
    for layer in layers:
        for name, value in (layer or {}).items():
            if value is not None:
                values[name] = validate(name, value)
    return values


def to_argv(values: Mapping[str, Any], *, changed_only: bool = False,
            groups: tuple[str, ...] | None = None) -> list[str]:
    """The command-line flags that give ``values`` (the inverse of
    :func:`faceswap_vfx.cli.params_cli.params_from_args`): ``--flag=value`` per parameter,
    ``--flag`` / ``--no-flag`` for booleans, in schema order; only ``groups`` when given,
    only values that differ from the defaults with ``changed_only``. Values are checked
    first; an unknown name raises :class:`ParameterError`."""
    unknown = sorted(set(values) - set(PARAMS))
    if unknown:
        raise ParameterError(f"unknown parameters {', '.join(unknown)}")
    argv = []
    for name, p in PARAMS.items():
        if name not in values or (groups is not None and p.group not in groups):
            continue
        value = validate(p, values[name])
        if changed_only and value == p.default:
            continue
        if p.kind == "bool":
            argv.append(p.flag if value else "--no-" + p.flag[2:])
        else:
            argv.append(f"{p.flag}={value}")
    return argv


for _p in PARAMS.values():
    validate(_p, _p.default)  # a default outside its own range is a bug in this file


# --- shot files -------------------------------------------------------------------------
SHOT_FORMAT = "faceswap_vfx.shot"
SHOT_VERSION = 1


@dataclass
class Shot:
    """A shot's parameters plus free-form fields later front ends use (plates, model, ...)."""

    params: dict[str, Any] = field(default_factory=defaults)
    inputs: dict[str, Any] = field(default_factory=dict)


def save_shot(shot: Shot, path: str | Path) -> None:
    """Write ``shot`` as versioned JSON (atomically: a temporary file, then a rename)."""
    from faceswap_vfx.io.atomic import atomic_write_text  # io is below params' users only

    body = {
        "format": SHOT_FORMAT,
        "version": SHOT_VERSION,
        "params": {name: shot.params[name] for name in PARAMS if name in shot.params},
        "inputs": shot.inputs,
    }
    atomic_write_text(path, json.dumps(body, indent=2, sort_keys=False) + "\n")


def load_shot(path: str | Path) -> Shot:
    """Read a shot file; unknown or out-of-range values raise errors naming the file."""
    from faceswap_vfx.io.versioned import check_version, read_json

    body = read_json(path, "shot file", ShotFileError)
    check_version(body, path, fmt=SHOT_FORMAT, version=SHOT_VERSION, kind="a shot file",
                  error=ShotFileError, newer=ShotVersionError)
    raw = body.get("params", {})
    if not isinstance(raw, dict):
        raise ShotFileError("shot file 'params' is not an object", path=path)
    try:
        params = resolve(raw)
    except ParameterError as exc:
        raise ShotFileError(str(exc), path=path) from None
    return Shot(params=params, inputs=dict(body.get("inputs", {})))
