"""Farm back ends by name.

A back end is a :class:`Farm` subclass registered with :func:`register_farm` in a module
``faceswap_vfx/farm/backend_<name>.py``; :func:`farms` imports those modules, so adding a
farm touches no other file. Each back end can write a job's files without a farm (a dry
run) and submit it to a running farm.
"""

from __future__ import annotations

import importlib
import pkgutil
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import ClassVar

from faceswap_vfx.errors import FarmError
from faceswap_vfx.farm.job import FarmJob

FARMS: dict[str, type[Farm]] = {}
"""Name -> back-end class (filled as the ``backend_*`` modules are imported)."""


def register_farm(name: str) -> Callable[[type[Farm]], type[Farm]]:
    """Class decorator: make a back end available as ``submit --farm name``."""

    def add(cls: type[Farm]) -> type[Farm]:
        if name in FARMS:
            raise ValueError(f"farm {name!r} registered twice")
        cls.name = name
        FARMS[name] = cls
        return cls

    return add


class Farm(ABC):
    """A farm back end, configured with ``options`` (``submit --option KEY=VALUE``): keys of
    :attr:`option_help` only."""

    name: ClassVar[str] = ""
    option_help: ClassVar[Mapping[str, str]] = {}
    """Option key -> one line of help."""

    def __init__(self, options: Mapping[str, str] | None = None):
        options = dict(options or {})
        unknown = sorted(set(options) - set(self.option_help))
        if unknown:
            raise FarmError(f"{self.name}: unknown option(s) {', '.join(unknown)}; known: "
                            f"{', '.join(self.option_help) or 'none'}")
        self.options = options

    @abstractmethod
    def write(self, job: FarmJob, folder: Path) -> list[Path]:
        """Write what a submission would send into ``folder`` (a dry run); return the files."""

    @abstractmethod
    def submit(self, job: FarmJob) -> str:
        """Submit ``job``; return what the farm calls it (job names or ids). Raises
        :class:`~faceswap_vfx.errors.FarmUnavailableError` when the farm cannot be reached."""


def farms() -> dict[str, type[Farm]]:
    """Every back end, by name (imports the ``backend_*`` modules once)."""
    package = importlib.import_module("faceswap_vfx.farm")
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith("backend_"):
            importlib.import_module(f"faceswap_vfx.farm.{info.name}")
    return dict(FARMS)


def get_farm(name: str, options: Mapping[str, str] | None = None) -> Farm:
    """The back end registered as ``name``, configured with ``options``."""
    known = farms()
    if name not in known:
        raise FarmError(f"unknown farm {name!r}; known: {', '.join(sorted(known))}")
    return known[name](options)
