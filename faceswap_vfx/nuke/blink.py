"""A Blink kernel's interface and the ``KernelDescription`` knob a BlinkScript node saves.

Nuke writes every BlinkScript node with a ``KernelDescription`` beside its
``kernelSource``: on load, the node makes its parameter knobs (``<Kernel>_<label>``) from
the description, so the values saved after it have knobs to go to before anything is
compiled. The form, as in scripts saved by Nuke 14-16 (version 3)::

    3 "<Kernel>" iterate <granularity> <hash> <n images> ("<image>" Read|Write
    Point|Random|...)... <n params> ("<label>" Int|Float|Bool <components> <default>)...
    <n params> ("<variable>" 1 1 Default)... 0

``<default>`` is the default value's bytes (little-endian int32 / float32, one byte per
bool) in base64. ``<hash>`` is Nuke's digest of the compiled kernel, which only Nuke
computes (it is not the SHA-256 of the source): :func:`kernel_description` writes the
SHA-256 of the source in its place, which Nuke treats as a kernel to compile again, and
the knobs exist either way.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shlex
import struct
from dataclasses import dataclass

_KERNEL = re.compile(r"\bkernel\s+(\w+)\s*:\s*ImageComputationKernel<\s*e(\w+)\s*>")
_IMAGE = re.compile(r"\bImage<\s*e(Read|Write)\s*(?:,\s*eAccess(\w+))?[^>]*>\s*(\w+)\s*;")
_PARAM_BLOCK = re.compile(r"\bparam:(.*?)(?:\blocal:|\bvoid\s+define\b)", re.S)
_PARAM = re.compile(r"^\s*(int|float|bool)([234]?)\s+(\w+)\s*;", re.M)
_DEFINE = re.compile(r'defineParam\(\s*(\w+)\s*,\s*"([^"]+)"\s*,\s*([^;]*)\)\s*;')
_TYPES = {"int": "Int", "float": "Float", "bool": "Bool"}


@dataclass(frozen=True)
class BlinkParam:
    """A ``param:`` variable: its C name, knob label, type, components and default."""

    variable: str
    label: str
    type: str
    components: int
    default: tuple[float, ...]

    def default_bytes(self) -> str:
        """The default as Nuke stores it: packed little-endian, base64."""
        fmt, cast = {"Int": ("<i", int), "Float": ("<f", float), "Bool": ("<?", bool)}[self.type]
        return base64.b64encode(b"".join(struct.pack(fmt, cast(v))
                                         for v in self.default)).decode("ascii")


@dataclass(frozen=True)
class BlinkKernel:
    """A kernel's name, granularity, images (name, "Read"/"Write", access) and params."""

    name: str
    granularity: str
    images: tuple[tuple[str, str, str], ...]
    params: tuple[BlinkParam, ...]


def _numbers(text: str, components: int, variable: str) -> tuple[float, ...]:
    text = text.strip()
    if text in ("true", "false"):
        return (1.0 if text == "true" else 0.0,)
    text = re.sub(r"^(?:int|float)[234]\s*\(", "(", text)  # int2(0, 0) -> (0, 0)
    values = [float(v.rstrip("f")) for v in re.findall(r"-?\d+(?:\.\d*)?(?:e-?\d+)?f?", text)]
    if len(values) != components:
        raise ValueError(f"defineParam({variable}): default {text!r} is not {components} "
                         "number(s)")
    return tuple(values)


def parse_kernel(source: str) -> BlinkKernel:
    """The interface of the one kernel in ``source`` (images in declaration order, params
    with the label and default of their ``defineParam``). ValueError when it has no kernel
    or a param without ``defineParam``."""
    kernel = _KERNEL.search(source)
    if kernel is None:
        raise ValueError("no 'kernel Name : ImageComputationKernel<...>' in the source")
    images = tuple((name, rw, access or "Point") for rw, access, name in _IMAGE.findall(source))
    block = _PARAM_BLOCK.search(source)
    defines = {v: (label, default) for v, label, default in _DEFINE.findall(source)}
    params = []
    for ctype, width, variable in _PARAM.findall(block.group(1) if block else ""):
        if variable not in defines:
            raise ValueError(f"param {variable} has no defineParam: its knob has no label")
        label, default = defines[variable]
        components = int(width or 1)
        params.append(BlinkParam(variable, label, _TYPES[ctype], components,
                                 _numbers(default, components, variable)))
    granularity = kernel.group(2)
    return BlinkKernel(kernel.group(1), granularity[0].lower() + granularity[1:], images,
                       tuple(params))


def kernel_description(source: str) -> str:
    """The ``KernelDescription`` value (before TCL quoting) of a node running ``source``."""
    k = parse_kernel(source)
    words = ["3", f'"{k.name}"', "iterate", k.granularity,
             hashlib.sha256(source.encode()).hexdigest(), str(len(k.images))]
    for name, rw, access in k.images:
        words += [f'"{name}"', rw, access]
    words.append(str(len(k.params)))
    for p in k.params:
        words += [f'"{p.label}"', p.type, str(p.components), p.default_bytes()]
    words.append(str(len(k.params)))
    for p in k.params:
        words += [f'"{p.variable}"', "1", "1", "Default"]
    words.append("0")
    return " ".join(words)


def read_description(text: str) -> tuple[str, list[tuple[str, str, str]], list[tuple[str, str]]]:
    """A ``KernelDescription`` value read back: the kernel's name, its images (name,
    Read/Write, access) and its params (label, type). ValueError when it is not of the form
    above."""
    words = shlex.split(text)
    try:
        if words[0] not in ("2", "3") or words[2] != "iterate":
            raise ValueError(f"not a KernelDescription: {text[:60]!r}")
        name, i = words[1], 5
        images = []
        for _ in range(int(words[i])):
            images.append((words[i + 1], words[i + 2], words[i + 3]))
            i += 3
        i += 1
        params = []
        for _ in range(int(words[i])):
            params.append((words[i + 1], words[i + 2]))
            base64.b64decode(words[i + 4], validate=True)
            i += 4
        return name, images, params
    except (IndexError, ValueError) as exc:
        raise ValueError(f"not a KernelDescription ({exc}): {text[:60]!r}") from None
