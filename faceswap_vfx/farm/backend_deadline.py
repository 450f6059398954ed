"""Deadline: job-info and plugin-info files for faceswap_vfx's own Deadline plugin.

Each job layer becomes one Deadline job (the pre-pass first; the render job depends on it),
for the plugin ``FaceswapVFX`` shipped in ``faceswap_vfx/farm/deadline_plugin/`` (copy its
folder to ``<repository>/custom/plugins/``; :func:`plugin_folder` says where it is). The job
info names the plugin, the frames, the chunk size and the tasks' environment
(``EnvironmentKeyValueN=NAME=VALUE``); the plugin info gives ``Executable`` (an absolute
path), ``Arguments`` and ``FrameStep``, and the plugin appends each task's frames as
``--frames=<first>-<last>[x<step>]``: frames that are not evenly spaced cannot be expressed
by a task's first and last frame and are refused. The plugin reads the command's output:
``Progress: NN%`` sets the task's progress, the CLI's error line fails the task with its
message (the stock CommandLine plugin with ``ShellExecute=False`` reads no output at all).

``submit`` runs ``deadlinecommand`` (found on ``PATH`` or in ``$DEADLINE_PATH``);
``--dry-run`` writes the files and ``submit.sh``, the equivalent ``deadlinecommand`` line::

    deadlinecommand render.job_info.job render.plugin_info.job
    deadlinecommand -SubmitMultipleJobs -dependent \\
        -job align.job_info.job align.plugin_info.job -job render.job_info.job ...

(``-dependent`` makes each job wait for the one before it.) Arguments are quoted as .NET
parses a command line (:func:`subprocess.list2cmdline`), which the plugin hands to the OS.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

from faceswap_vfx.errors import FarmError, FarmUnavailableError
from faceswap_vfx.farm.job import CHUNK_FRAMES, FarmJob, Layer, frame_spec, frame_step
from faceswap_vfx.farm.registry import Farm, register_farm
from faceswap_vfx.io.sequence import FramePattern

PLUGIN = "FaceswapVFX"
"""The Deadline plugin the jobs name (its folder: :func:`plugin_folder`)."""

JOB_INFO, PLUGIN_INFO = "job_info.job", "plugin_info.job"


def plugin_folder() -> Path:
    """The ``FaceswapVFX`` plugin folder to copy into ``<repository>/custom/plugins/``."""
    return Path(__file__).resolve().parent / "deadline_plugin" / PLUGIN


def layer_step(layer: Layer) -> int:
    """The step between a layer's frames; FarmError when they are not evenly spaced."""
    step = frame_step(layer.frames)
    if step is None:
        raise FarmError(f"Deadline passes a task's first and last frame only; frames "
                        f"{frame_spec(layer.frames)} are not evenly spaced: submit each evenly "
                        f"spaced run as its own job")
    return step


def plugin_arguments(layer: Layer) -> list[str]:
    """The layer's command without its program and without ``--frames`` (the plugin adds
    each task's frames)."""
    argv = list(layer.argv)
    at = argv.index(CHUNK_FRAMES)
    if argv[at - 1] != "--frames":
        raise FarmError(f"layer {layer.name}: the frames token must follow --frames")
    return argv[1:at - 1] + argv[at + 1:]


def info_text(entries: dict[str, str]) -> str:
    """Deadline's ``key=value`` info file format, one entry per line."""
    for key, value in entries.items():
        if "\n" in str(value) or "=" in key:
            raise FarmError(f"Deadline info entry {key}={value!r} cannot be written on one line")
    return "".join(f"{k}={v}\n" for k, v in entries.items())


def read_info(text: str) -> dict[str, str]:
    """The entries of a Deadline info file (the inverse of :func:`info_text`)."""
    entries = {}
    for line in text.splitlines():
        if line.strip():
            key, _, value = line.partition("=")
            entries[key] = value
    return entries


def deadlinecommand() -> str | None:
    """The ``deadlinecommand`` executable, or None when it is not installed here."""
    folder = os.environ.get("DEADLINE_PATH")
    if folder:
        for name in ("deadlinecommand", "deadlinecommand.exe"):
            if (Path(folder) / name).is_file():
                return str(Path(folder) / name)
    return shutil.which("deadlinecommand")


@register_farm("deadline")
class Deadline(Farm):
    """Deadline's CommandLine plugin (see the module documentation)."""

    option_help = {
        "Pool": "pool of both jobs",
        "SecondaryPool": "secondary pool",
        "Group": "group of the render job (the pre-pass keeps the default group)",
        "Priority": "priority of both jobs (0-100)",
        "Department": "department shown in the Monitor",
        "Comment": "comment shown in the Monitor",
        "MachineLimit": "most machines rendering the job at once",
        "ConcurrentTasks": "tasks per machine at once",
        "TaskTimeoutMinutes": "minutes after which a task fails",
        "LimitGroups": "limits of the render job, comma separated",
        "InitialStatus": "Active or Suspended",
        "UserName": "user of the jobs",
    }
    _RENDER_ONLY = ("Group", "LimitGroups", "ConcurrentTasks")

    def infos(self, job: FarmJob) -> dict[str, tuple[dict[str, str], dict[str, str]]]:
        """Per layer name, the job info and plugin info entries."""
        out = {}
        for layer in job.layers:
            step = layer_step(layer)
            job_info = {"Plugin": PLUGIN, "Name": f"{job.name} {layer.name}",
                        "BatchName": job.name, "Frames": frame_spec(layer.frames),
                        "ChunkSize": str(layer.chunk)}
            for i, (key, value) in enumerate(job.env):
                job_info[f"EnvironmentKeyValue{i}"] = f"{key}={value}"
            if layer.name == "render":  # the Monitor's "view output" (Deadline pads with #)
                pattern = FramePattern.parse(job.shot.out)
                path = Path(f"{pattern.prefix}{'#' * max(pattern.padding, 1)}{pattern.suffix}")
                job_info["OutputDirectory0"] = str(path.parent)
                job_info["OutputFilename0"] = path.name
            for key, value in self.options.items():
                if layer.name == "render" or key not in self._RENDER_ONLY:
                    job_info[key] = value
            plugin_info = {"Executable": layer.argv[0],
                           "Arguments": subprocess.list2cmdline(plugin_arguments(layer)),
                           "FrameStep": str(step)}
            out[layer.name] = (job_info, plugin_info)
        return out

    def command_line(self, job: FarmJob, folder: Path,
                     executable: str = "deadlinecommand") -> list[str]:
        """The ``deadlinecommand`` line that submits the files :meth:`write` puts in
        ``folder`` (each job after the first depends on the one before)."""
        folder = Path(folder).resolve()
        files = [(str(folder / f"{layer.name}.{JOB_INFO}"),
                  str(folder / f"{layer.name}.{PLUGIN_INFO}")) for layer in job.layers]
        if len(files) == 1:
            return [executable, *files[0]]
        line = [executable, "-SubmitMultipleJobs", "-dependent"]
        for job_info, plugin_info in files:
            line += ["-job", job_info, plugin_info]
        return line

    def write(self, job: FarmJob, folder: Path) -> list[Path]:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for name, (job_info, plugin_info) in self.infos(job).items():
            for suffix, entries in ((JOB_INFO, job_info), (PLUGIN_INFO, plugin_info)):
                path = folder / f"{name}.{suffix}"
                path.write_text(info_text(entries), encoding="utf-8")
                written.append(path)
        script = folder / "submit.sh"
        script.write_text("#!/bin/sh\n# submits this job to Deadline\n"
                          + shlex.join(self.command_line(job, folder)) + "\n")
        script.chmod(0o755)
        return [*written, script]

    def submit(self, job: FarmJob) -> str:
        exe = deadlinecommand()
        if exe is None:
            raise FarmUnavailableError("deadlinecommand not found (not on PATH, no "
                                       "$DEADLINE_PATH): is Deadline's client installed? Write "
                                       "the job with --dry-run FOLDER instead")
        with tempfile.TemporaryDirectory(prefix="faceswap_deadline_") as tmp:
            self.write(job, Path(tmp))
            done = subprocess.run(self.command_line(job, Path(tmp), exe), capture_output=True,
                                  text=True)
        ids = re.findall(r"JobID=(\S+)", done.stdout)
        if done.returncode != 0 or not ids:
            raise FarmError(f"deadlinecommand failed (exit {done.returncode}): "
                            f"{(done.stdout + done.stderr).strip()[-2000:]}")
        return ", ".join(ids)
