"""Command-line flags generated from the parameter schema (:mod:`faceswap_vfx.params`)."""

from __future__ import annotations

import argparse
from typing import Any

from faceswap_vfx import params as schema


def add_param_flags(parser: argparse.ArgumentParser, *groups: str) -> None:
    """Add one flag per parameter of ``groups`` (all groups if none), plus ``--shot``.

    Flags default to ``None`` so that :func:`params_from_args` can layer
    defaults < shot file < flags given on the command line.
    """
    parser.add_argument("--shot", metavar="SHOT.json",
                        help="shot file whose parameters apply before these flags")
    for group in groups or tuple(schema.GROUPS):
        arg_group = parser.add_argument_group(f"{group} parameters", schema.GROUPS[group])
        for p in schema.PARAMS.values():
            if p.group != group:
                continue
            help_text = f"{p.help} (default: {p.default!r}"
            if p.minimum is not None or p.maximum is not None:
                help_text += f", range {p.minimum:g}..{p.maximum:g}"
            help_text += f"{', ' + p.unit if p.unit else ''})"
            kwargs: dict[str, Any] = {"dest": p.name, "default": None, "help": help_text}
            if p.kind == "bool":
                kwargs["action"] = argparse.BooleanOptionalAction
            elif p.kind == "enum":
                kwargs["choices"] = p.choices
            else:
                kwargs["metavar"] = p.unit.upper() or p.kind.upper()
            arg_group.add_argument(p.flag, **kwargs)


def params_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """Every parameter's value: defaults, then ``--shot``, then explicit flags; validated."""
    shot_params = None
    if getattr(args, "shot", None):
        shot_params = schema.load_shot(args.shot).params
    flags = {name: getattr(args, name) for name in schema.PARAMS if hasattr(args, name)}
    return schema.resolve(shot_params, flags)
