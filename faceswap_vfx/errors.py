"""Every error faceswap_vfx raises on purpose, in one module.

Each error names the file and, where there is one, the frame, so a render wrangler
reading a farm log knows what to fix without opening the code.
"""

from __future__ import annotations

from pathlib import Path


class Terminated(KeyboardInterrupt):  # noqa: N818 - a signal, as KeyboardInterrupt is
    """SIGTERM, which farm managers send before SIGKILL: handled as Ctrl-C is (work under
    way finishes or is undone atomically), then the command exits with 143."""


class FaceswapError(Exception):
    """Base class. ``path`` and ``frame`` are kept as attributes for programs."""

    def __init__(self, message: str, *, path: str | Path | None = None, frame: int | None = None):
        self.message = message
        self.path = None if path is None else str(path)
        self.frame = frame
        where = []
        if self.path is not None:
            where.append(f"file {self.path}")
        if frame is not None:
            where.append(f"frame {frame}")
        super().__init__(f"{message} ({', '.join(where)})" if where else message)

    def located(self, path: str | Path | None, frame: int | None) -> str:
        """The message, naming ``path`` and ``frame`` where the error itself names none."""
        return str(FaceswapError(self.message, path=self.path or path,
                                 frame=self.frame if self.frame is not None else frame))


# --- plates and image files -------------------------------------------------------------
class PatternError(FaceswapError):
    """A sequence pattern or frame range that cannot be understood."""


class NoFramesError(FaceswapError):
    """A pattern that matches no file on disk."""


class MissingFrameError(FaceswapError):
    """A frame asked for that is not on disk."""


class PlateReadError(FaceswapError):
    """A file that exists but cannot be read: truncated, corrupt, not an image."""


class ChannelError(FaceswapError):
    """A channel asked for that the file does not have."""


class SizeMismatchError(FaceswapError):
    """Images that must line up (a blend's source, target and mask) of different sizes."""


class PlateWriteError(FaceswapError):
    """An image that could not be written (the final name is left untouched)."""


class OutputIsInputError(PlateWriteError):
    """An output that resolves to one of the inputs (plates, matte, mask, alignment file...):
    refused before anything is written."""


class OutputNotWritableError(PlateWriteError):
    """An output folder that does not exist and cannot be made, or is read-only."""


class ColorSpaceError(FaceswapError):
    """An OCIO colour space or config that does not exist."""


# --- parameters and shot files ----------------------------------------------------------
class ParameterError(FaceswapError):
    """A parameter value outside its type, range or choices."""


class ShotFileError(FaceswapError):
    """A shot file that cannot be read or is not a shot file."""


class ShotVersionError(ShotFileError):
    """A shot file written by a newer faceswap_vfx than this one."""


# --- faces ------------------------------------------------------------------------------
class ModelFileError(FaceswapError):
    """A dlib model file (.dat) or a network checkpoint that is missing or unreadable."""


class NoFaceError(FaceswapError):
    """No face where one is needed."""


class AlignFileError(FaceswapError):
    """An alignment file that cannot be read, is of a newer version, or is for another plate."""


class TrackError(FaceswapError):
    """A face track asked for that does not exist."""


class DatasetError(FaceswapError):
    """A training dataset folder that is missing, empty or inconsistent."""


class CheckpointError(ModelFileError):
    """A training checkpoint that is truncated or corrupt, of a newer format version, or
    made for another network configuration or set of identities."""


class NonFiniteError(FaceswapError):
    """A network whose weights, or a generated face whose pixels, are NaN or infinite."""


class TrainingDivergedError(FaceswapError):
    """A training run whose loss or weights stopped being finite, or whose loss stayed far
    above its best; the message names the last checkpoint written before it went wrong."""


# --- render farms -----------------------------------------------------------------------
class FarmError(FaceswapError):
    """A farm job that cannot be built or did not finish: a shot file without the inputs a
    farm render needs, frames a farm cannot chunk, an unknown farm option, failed tasks."""


class FarmUnavailableError(FarmError):
    """A farm that cannot be reached: no Cuebot answering, no ``deadlinecommand``, or its
    client library not installed (``pip install faceswap_vfx[farm]``)."""
