"""OpenCue: the job as an outline, through OpenCue's own Python client.

pyoutline (``opencue-pyoutline``) builds an ``Outline`` with one ``Shell`` layer per job layer;
its OpenCue back end serialises it to the job spec XML that Cuebot launches (``launchSpec``).
The commands run as they are (``serialize_simple``: no pycuerun wrapper, so farm hosts need
``faceswap-vfx``, not pyoutline). A layer's tasks get their frames from Cuebot's
``#FRAMESPEC#`` token, which Cuebot replaces with the task's own chunk (``1001-1010``,
``1231-1240``, ``1001-1019x2``). ``#FRAME_START#``-``#FRAME_END#`` is not used: Cuebot sets
``#FRAME_END#`` to start + chunk - 1, past the end of a short last chunk and across frame
steps (OpenCue issue #1129). The pre-pass layer is one task over every frame; the render
layer depends on it layer-on-layer.

``submit`` checks that a Cuebot answers (``CUEBOT_HOSTS`` or pycue's config), then launches;
``--dry-run`` writes the spec instead (``<job>.cue.xml``), which
``opencue.api.launchSpec(open(path).read())`` launches later.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import tempfile
from collections.abc import Iterator
from pathlib import Path

from faceswap_vfx.errors import FarmUnavailableError
from faceswap_vfx.farm.job import CHUNK_FRAMES, FarmJob, frame_spec
from faceswap_vfx.farm.registry import Farm, register_farm

FRAMESPEC = "#FRAMESPEC#"
"""Cuebot's token for a task's frames."""

_OUTLINE_KEYS = ("show", "shot", "user", "facility")
_LAUNCH_KEYS = ("priority", "maxretries", "pause")
_LAYER_KEYS = ("service", "tags", "cores", "memory", "gpus", "gpu_memory", "timeout")


def _client():
    # pyoutline logs its config file and session folders at INFO: not news for an artist
    logging.getLogger("outline").setLevel(logging.WARNING)
    try:
        import opencue
        import outline
        import outline.cuerun
        import outline.modules.shell
    except ImportError as exc:
        raise FarmUnavailableError(f"OpenCue's Python client is not installed ({exc}): "
                                   "pip install 'faceswap_vfx[farm]'") from None
    return outline, opencue


def shell_command(argv: tuple[str, ...] | list[str]) -> str:
    """``argv`` as one shell-quoted command line, with Cuebot's frame token where a task's
    frames go."""
    return " ".join(FRAMESPEC if a == CHUNK_FRAMES else shlex.quote(a) for a in argv)


@contextlib.contextmanager
def _quiet_session() -> Iterator[None]:
    """pyoutline writes a session folder (and sets ``$SHOT``) while it serialises: keep both
    out of the user's home and environment."""
    outline, _ = _client()
    old_dir = outline.config.get("outline", "session_dir")
    old_shot = os.environ.get("SHOT")
    with tempfile.TemporaryDirectory(prefix="faceswap_outline_") as tmp:
        outline.config.set("outline", "session_dir", tmp)
        try:
            yield
        finally:
            outline.config.set("outline", "session_dir", old_dir)
            if old_shot is None:
                os.environ.pop("SHOT", None)
            else:
                os.environ["SHOT"] = old_shot


@register_farm("opencue")
class OpenCue(Farm):
    """OpenCue through pyoutline/pycue (see the module documentation)."""

    option_help = {
        "show": "show of the job (default: $SHOW, else pyoutline's default_show)",
        "shot": "shot in the job name (default: the shot file's name)",
        "user": "user of the job (default: the current user)",
        "facility": "facility to launch in (default: $FACILITY or pyoutline's)",
        "priority": "job priority (default 1)",
        "maxretries": "retries of a failed task (default: pyoutline's, 2)",
        "pause": "launch paused: true or false",
        "service": "service of the render layer (default: shell)",
        "tags": "host tags of the render layer, separated by |",
        "cores": "cores reserved per render task",
        "memory": "memory reserved per render task, e.g. 8g",
        "gpus": "GPUs reserved per render task",
        "gpu_memory": "GPU memory reserved per render task, e.g. 16g",
        "timeout": "minutes after which a render task counts as hung",
    }

    def outline(self, job: FarmJob):
        """The job as a pyoutline ``Outline`` (one ``Shell`` layer per job layer)."""
        outline, _ = _client()
        o = self.options
        frames = sorted({f for layer in job.layers for f in layer.frames})
        ol = outline.Outline(job.name, frame_range=frame_spec(frames),
                             shot=o.get("shot", job.shot.name),
                             **{k: o[k] for k in _OUTLINE_KEYS if k in o and k != "shot"})
        built = {}
        for layer in job.layers:
            args = {k: o[k] for k in _LAYER_KEYS if k in o} if layer.name == "render" else {}
            for key in ("cores", "gpus", "timeout"):
                if key in args:
                    args[key] = int(float(args[key])) if key != "cores" else float(args[key])
            shell = outline.modules.shell.Shell(layer.name, command=shell_command(layer.argv),
                                                range=frame_spec(layer.frames),
                                                chunk=layer.chunk, **args)
            for key, value in job.env:  # each task's environment (the layer's env)
                shell.set_env(key, value)
            ol.add_layer(shell)
            if layer.depends_on:
                shell.depend_all(built[layer.depends_on])
            built[layer.name] = shell
        return ol

    def spec(self, job: FarmJob) -> str:
        """The job spec XML, as pyoutline's OpenCue back end writes it for Cuebot."""
        outline, _ = _client()
        o = self.options
        flags = {k: o[k] for k in _LAUNCH_KEYS if k in o}
        if "priority" in flags:
            flags["priority"] = int(flags["priority"])
        if "maxretries" in flags:
            flags["maxretries"] = int(flags["maxretries"])
        if "pause" in flags:
            flags["pause"] = str(flags["pause"]).lower() in ("1", "true", "yes", "on")
        with _quiet_session():
            launcher = outline.cuerun.OutlineLauncher(self.outline(job), **flags)
            return launcher.serialize(use_pycuerun=False)

    def write(self, job: FarmJob, folder: Path) -> list[Path]:
        path = Path(folder) / f"{job.name}.cue.xml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.spec(job) + "\n")
        return [path]

    def submit(self, job: FarmJob) -> str:
        _, opencue = _client()
        spec = self.spec(job)
        try:
            opencue.api.getSystemStats()  # pycue connects (and retries) here
        except Exception as exc:  # noqa: BLE001 (pycue raises its own and gRPC's errors)
            hosts = ", ".join(opencue.Cuebot.Hosts or []) or "none configured"
            raise FarmUnavailableError(
                f"no Cuebot answers (hosts: {hosts}; set CUEBOT_HOSTS): {exc}. Write the job "
                f"with --dry-run FOLDER instead") from None
        jobs = opencue.api.launchSpecAndWait(spec)
        return ", ".join(j.name() for j in jobs)

