"""The node library: each render step with declared inputs, outputs and parameters.

A node reads named values of the frame being rendered (``"frame"``, ``"image"``,
``"faces"``, ``"jobs"``, ...) and returns new ones; its ``params`` are names from the
parameter schema (:mod:`faceswap_vfx.params`), so the CLI, the Nuke gizmo and the panel
show the same knobs for it. :class:`~faceswap_vfx.render.graph.Graph` chains them.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from faceswap_vfx.core.blend import multiband_blend
from faceswap_vfx.core.composite import Blend
from faceswap_vfx.core.mask import finite_mask
from faceswap_vfx.errors import AlignFileError, SizeMismatchError
from faceswap_vfx.face.align_file import Alignment
from faceswap_vfx.face.track import NO_FACE
from faceswap_vfx.io.image import ImagePart, read_channels, read_header, read_image, write_image
from faceswap_vfx.io.sequence import FramePattern, ImageSequence
from faceswap_vfx.render.frame import (
    Face,
    Generate,
    blend_faces,
    crop_faces,
    generate_faces,
    inverse_warp,
)

log = logging.getLogger(__name__)

STATUS = "faceswap:status"
"""Header attribute of every rendered frame: ``"swapped"`` (a face was written), ``"no face"``
or ``"no face written"`` (a tracked face, but none of it inside the data window or the
matte)."""
IDENTITY = "faceswap:identity"
"""Header attribute: the identity rendered into the frame."""

STAGES = ("read", "compute", "write")
"""A graph's nodes run in this stage order; a render overlaps the stages of successive
frames."""

NODES: dict[str, type[Node]] = {}
"""Every node class by name."""


def register_node(cls: type[Node]) -> type[Node]:
    NODES[cls.__name__] = cls
    return cls


class Node:
    """A render step. Subclasses declare ``inputs``, ``outputs`` and ``params`` and
    implement :meth:`run`, which returns a dict holding every name of ``outputs``."""

    inputs: ClassVar[tuple[str, ...]] = ()
    outputs: ClassVar[tuple[str, ...]] = ()
    params: ClassVar[tuple[str, ...]] = ()
    stage: ClassVar[str] = "compute"
    """``"read"`` (file input: a render runs it ahead, on a reader thread), ``"compute"``
    or ``"write"`` (file output: on writer threads). See :data:`STAGES`."""

    def run(self, values: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(self.inputs)} -> {', '.join(self.outputs)})"


@register_node
class ReadPlate(Node):
    """Read one frame of the plate sequence, every part, channel and attribute."""

    inputs = ("frame",)
    outputs = ("image",)
    params = ("plate_colorspace",)
    stage = "read"

    def __init__(self, sequence: ImageSequence | FramePattern):
        self.sequence = sequence

    def run(self, values, params):
        frame = values["frame"]
        return {"image": read_image(self.sequence.path(frame), frame)}


@register_node
class Align(Node):
    """The faces of the frame from an alignment file, for the tracks asked for."""

    inputs = ("frame",)
    outputs = ("faces",)
    params = ("track",)

    def __init__(self, alignment: Alignment, track: str = "largest",
                 resolution: int | None = None, plates: ImageSequence | None = None):
        self.alignment, self.plates = alignment, plates
        self.tracks = select_tracks(alignment, track)
        self.resolution = resolution or alignment.crop_size
        k = alignment.crop_size / self.resolution  # the network's crop in alignment crop px
        self.align_from_net = np.diag([k, k, 1.0])

    def run(self, values, params):
        image = values.get("image")
        if image is not None:  # each frame against the plate the alignment was made on
            box = image.parts[0].display_window
            if (box.width, box.height) != tuple(self.alignment.size):
                raise AlignFileError(
                    f"this frame is {box.width}x{box.height}, the alignment was made on a "
                    f"{self.alignment.size[0]}x{self.alignment.size[1]} plate",
                    path=self.plates.path(values["frame"]) if self.plates else None,
                    frame=values["frame"])
        entries = self.alignment.faces.get(values["frame"], [])
        faces = [Face(e.landmarks, e.plate_from_crop @ self.align_from_net, self.resolution)
                 for e in entries if e.track in self.tracks and e.flag != NO_FACE]
        return {"faces": faces}


def select_tracks(alignment: Alignment, track: str) -> set[int]:
    """Track ids to render: ``"all"``, ``"largest"`` or an id, by the rule of
    :meth:`Alignment.select_tracks` (that of ``align`` and ``extract``); none when the
    alignment has no face."""
    return set(alignment.select_tracks(track)) if alignment.track_ids else set()


@register_node
class Swap(Node):
    """Crop each face and run the encoder and the chosen identity's decoder, batched."""

    inputs = ("image", "faces")
    outputs = ("jobs",)
    params = ("working_colorspace", "identity", "device")

    def __init__(self, generate: Generate, device: torch.device | str = "cpu"):
        self.generate, self.device = generate, device

    def run(self, values, params):
        jobs = crop_faces(values["image"], values["faces"], params, self.device)
        generate_faces(jobs, self.generate, values.get("frame"))
        return {"jobs": jobs}


@register_node
class InverseWarp(Node):
    """Warp each generated face from its crop back into the plate's region of interest."""

    inputs = ("jobs",)
    outputs = ("warped",)
    params = ("blend_colorspace",)

    def __init__(self, device: torch.device | str = "cpu"):
        self.device = device

    def run(self, values, params):
        inverse_warp(values["jobs"], params, self.device)
        return {"warped": values["jobs"]}


@register_node
class ReadMatte(Node):
    """One channel of a matte sequence (e.g. a roto), float32 (H, W) over the plate's data
    window (0 outside the matte's own), or None without a sequence. The channel: the
    ``matte_channel`` parameter, else ``channel`` given here, else ``A`` when the file has
    one, else its first."""

    inputs = ("frame", "image")
    outputs = ("matte",)
    params = ("matte", "matte_channel")
    stage = "read"

    def __init__(self, sequence: ImageSequence | FramePattern | None,
                 channel: str | None = None, param: str | None = "matte_channel"):
        self.sequence, self.channel, self.param = sequence, channel, param

    def run(self, values, params):
        if self.sequence is None:
            return {self.outputs[0]: None}
        frame, plate = values["frame"], values["image"].part
        path = self.sequence.path(frame)
        wanted = (params.get(self.param) if self.param else None) or self.channel
        if not wanted:
            names = list(read_header(path, frame)[0].channelnames)
            wanted = "A" if "A" in names else names[0]
        part = read_channels(path, [wanted], frame)
        check_same_format(part, plate, path, frame)
        matte = part.pixels_over(plate.data_window, (wanted,), path=str(path), frame=frame)
        bad = int(np.count_nonzero(np.isnan(matte)))
        if bad:
            log.warning("%s frame %d: %d NaN pixels in %s, filled from their neighbours",
                        path, frame, bad, wanted)
        return {self.outputs[0]: finite_mask(matte[..., 0])}


def check_same_format(part: ImagePart, plate: ImagePart, path: Path, frame: int) -> None:
    """Raise :class:`SizeMismatchError` unless ``part`` has the plate's display window."""
    if part.display_window != plate.display_window:
        raise SizeMismatchError(f"image is {part.display_window}, the plate is "
                                f"{plate.display_window} (display windows differ)",
                                path=path, frame=frame)


@register_node
class MultiBandBlend(Node):
    """Blend each face into the plate (Algorithm 1) under the landmark mask and matte.

    The matte: the ``"matte"`` value of a :class:`ReadMatte` earlier in the graph (read
    ahead with the plate), else read here from ``matte``. ``blend``: the multi-band
    blend's implementation (default :func:`~faceswap_vfx.core.blend.multiband_blend`)."""

    inputs = ("frame", "image", "warped")
    outputs = ("blended",)
    params = ("plate_levels", "mask_sigma", "mask_grow", "edge_feather", "matte",
              "matte_channel", "matte_mode", "blend_colorspace", "output_alpha")

    def __init__(self, device: torch.device | str = "cpu", matte: ImageSequence | None = None,
                 blend: Blend = multiband_blend):
        self.device, self.matte, self.blend = device, matte, blend

    def run(self, values, params):
        matte = values["matte"] if "matte" in values else \
            ReadMatte(self.matte).run(values, params)["matte"]
        image = values["image"]
        written = blend_faces(image, values["warped"], params, matte, self.device, self.blend)
        status = "swapped" if written else "no face written" if values["warped"] else "no face"
        image.part.set_attribute(STATUS, "string", status)
        if params.get("identity"):
            image.part.set_attribute(IDENTITY, "string", params["identity"])
        return {"blended": image}


@register_node
class WritePlate(Node):
    """Write the frame atomically, every channel and attribute of the plate kept."""

    inputs = ("frame", "blended")
    outputs = ("path",)
    params = ()
    stage = "write"

    def __init__(self, pattern: str | Path):
        self.pattern = FramePattern.parse(pattern)

    def run(self, values, params):
        path = self.pattern.path(values["frame"])
        write_image(values["blended"], path, values["frame"])
        return {"path": path}
