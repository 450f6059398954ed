"""Deadline jobs: job/plugin info files for the shipped FaceswapVFX plugin, what the plugin
runs for each task, its stdout handlers fed the lines of a real failing render and of the
local farm's real renders, the deadlinecommand line, and a submission through a stand-in
deadlinecommand. (Deadline has no client library on PyPI: the plugin is loaded with a
stand-in ``Deadline`` module that records what it registers and calls.)"""

from __future__ import annotations

import importlib.util
import re
import shlex
import stat
import sys
import types

import pytest
from test_farm_job import make_shot

from faceswap_vfx.backend import parse_line
from faceswap_vfx.cli.main import main
from faceswap_vfx.errors import FarmError, FarmUnavailableError
from faceswap_vfx.farm.backend_deadline import plugin_folder, read_info
from faceswap_vfx.farm.job import build_job, chunks
from faceswap_vfx.farm.registry import get_farm
from faceswap_vfx.farm.shot import read_shot_inputs
from faceswap_vfx.io.sequence import parse_frames


class Callback:
    def __init__(self):
        self.handlers = []

    def __iadd__(self, fn):
        self.handlers.append(fn)
        return self


class StandInPlugin:
    """What the plugin sees of Deadline's DeadlinePlugin: the callbacks it hooks, the stdout
    handlers it adds, the task's frames and plugin info, and what it reports."""

    def __init__(self):
        self.InitializeProcessCallback = Callback()
        self.RenderExecutableCallback = Callback()
        self.RenderArgumentCallback = Callback()
        self.StdoutHandlers, self.reported = [], []
        self.info, self.frames, self._match = {}, (1, 1), None

    def AddStdoutHandlerCallback(self, regex):  # noqa: N802
        handler = types.SimpleNamespace(regex=regex, HandleCallback=Callback())
        self.StdoutHandlers.append(handler)
        return handler

    def GetPluginInfoEntry(self, key):  # noqa: N802
        return self.info[key]

    def GetPluginInfoEntryWithDefault(self, key, default):  # noqa: N802
        return self.info.get(key, default)

    def GetStartFrame(self):  # noqa: N802
        return self.frames[0]

    def GetEndFrame(self):  # noqa: N802
        return self.frames[1]

    def GetRegexMatch(self, i):  # noqa: N802
        return self._match.group(i) or ""

    def SetProgress(self, p):  # noqa: N802
        self.reported.append(("progress", p))

    def SetStatusMessage(self, text):  # noqa: N802
        self.reported.append(("status", text))

    def FailRender(self, text):  # noqa: N802
        self.reported.append(("fail", text))

    def LogWarning(self, text):  # noqa: N802
        self.reported.append(("warning", text))

    def feed(self, line):
        """Deadline's stdout handling: every handler whose regex matches the line."""
        for handler in self.StdoutHandlers:
            if m := re.search(handler.regex, line.rstrip("\n")):
                self._match = m
                for fn in handler.HandleCallback.handlers:
                    fn()


@pytest.fixture
def plugin(monkeypatch):
    deadline = types.ModuleType("Deadline")
    plugins = types.ModuleType("Deadline.Plugins")
    plugins.DeadlinePlugin = StandInPlugin
    plugins.PluginType = types.SimpleNamespace(Simple="Simple", Advanced="Advanced")
    monkeypatch.setitem(sys.modules, "Deadline", deadline)
    monkeypatch.setitem(sys.modules, "Deadline.Plugins", plugins)
    path = plugin_folder() / "FaceswapVFX.py"
    spec = importlib.util.spec_from_file_location("FaceswapVFX", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    instance = module.GetDeadlinePlugin()
    for fn in instance.InitializeProcessCallback.handlers:
        fn()
    return instance


def plugin_command(plugin, plugin_info: dict[str, str], frames: tuple[int, ...]) -> list[str]:
    """What the plugin runs for a task of ``frames``."""
    plugin.info, plugin.frames = plugin_info, (frames[0], frames[-1])
    exe = plugin.RenderExecutableCallback.handlers[0]()
    return [exe, *shlex.split(plugin.RenderArgumentCallback.handlers[0]())]


def frames_read(argv: list[str]) -> list:
    """``argv`` with ``--frames`` (as one or two words) last, as the frames it means."""
    argv = list(argv)
    if "--frames" in argv:
        i = argv.index("--frames")
        value = argv.pop(i + 1)
        argv.pop(i)
    else:
        value = next(a for a in argv if a.startswith("--frames="))
        argv.remove(value)
        value = value.partition("=")[2]
    return [*argv, parse_frames(value)]


def deadline_tasks(job_info: dict[str, str]) -> list[tuple[int, ...]]:
    """Deadline's tasks: the job's frame list cut into ChunkSize consecutive frames."""
    return chunks(parse_frames(job_info["Frames"]), int(job_info["ChunkSize"]))


@pytest.fixture
def shot(tmp_path):
    return make_shot(tmp_path, plate_levels=3)


def test_files_give_each_task_the_local_command(shot, tmp_path, plugin):
    job = build_job(read_shot_inputs(shot, align_prepass=True), parse_frames("1001-1023"), 10,
                    align_prepass=True, executable=["/opt/fs/bin/faceswap-vfx"])
    farm = get_farm("deadline", {"Pool": "gpu", "Group": "cuda", "Priority": "60"})
    plugin_obj = plugin
    files = farm.write(job, tmp_path / "job")
    assert sorted(p.name for p in files) == ["align.job_info.job", "align.plugin_info.job",
                                             "render.job_info.job", "render.plugin_info.job",
                                             "submit.sh"]
    for layer in job.layers:
        job_info = read_info((tmp_path / "job" / f"{layer.name}.job_info.job").read_text())
        plugin = read_info((tmp_path / "job" / f"{layer.name}.plugin_info.job").read_text())
        assert job_info["Plugin"] == "FaceswapVFX"
        assert (job_info["BatchName"], job_info["Pool"], job_info["Priority"]) == \
            ("shot010_faceswap", "gpu", "60")
        assert plugin["Executable"] == "/opt/fs/bin/faceswap-vfx"
        assert "--frames" not in plugin["Arguments"]
        tasks = deadline_tasks(job_info)
        assert [f for f, _ in layer.tasks()] == tasks
        for frames, argv in layer.tasks():
            assert frames_read(plugin_command(plugin_obj, plugin, frames)) == frames_read(argv)
    render = read_info((tmp_path / "job" / "render.job_info.job").read_text())
    assert render["Group"] == "cuda" and "Group" not in read_info(
        (tmp_path / "job" / "align.job_info.job").read_text())  # the pre-pass needs no GPU
    assert (render["Frames"], render["ChunkSize"]) == ("1001-1023", "10")
    assert render["OutputFilename0"] == "swap.####.exr"  # %04d in the shot, # for Deadline
    assert render["OutputDirectory0"].endswith("swap dir")
    assert [len(t) for t in deadline_tasks(render)] == [10, 10, 3]  # ENDFRAME 1023, not 1030
    line = shlex.split((tmp_path / "job" / "submit.sh").read_text().splitlines()[-1])
    assert line == farm.command_line(job, tmp_path / "job")
    assert line[:3] == ["deadlinecommand", "-SubmitMultipleJobs", "-dependent"]
    assert [a.rsplit("/", 1)[-1] for a in line[3:]] == [
        "-job", "align.job_info.job", "align.plugin_info.job",
        "-job", "render.job_info.job", "render.plugin_info.job"]


def test_stepped_frames_and_uneven_frames(shot, plugin):
    inputs = read_shot_inputs(shot)
    farm = get_farm("deadline")
    stepped = build_job(inputs, parse_frames("1001-1019x2"), 4, env=(("OCIO", "/s/a.ocio"),))
    job_info, info = farm.infos(stepped)["render"]
    assert info["FrameStep"] == "2" and job_info["Frames"] == "1001-1019x2"
    assert job_info["EnvironmentKeyValue0"] == "OCIO=/s/a.ocio"
    for frames, argv in stepped.layer("render").tasks():
        assert frames_read(plugin_command(plugin, info, frames)) == frames_read(argv)
    with pytest.raises(FarmError, match="not evenly spaced"):
        farm.infos(build_job(inputs, parse_frames("1001-1010,1020"), 4))
    assert farm.command_line(build_job(inputs, chunk=4), "/x")[1:] == \
        ["/x/render.job_info.job", "/x/render.plugin_info.job"]


def test_the_plugin_handlers_read_what_the_backend_prints(plugin, tmp_path, capsys):
    """The lines of a real failing render (its error line) and the forms of progress: the
    plugin reports what faceswap_vfx.backend.parse_line reads from the same lines."""
    assert main(["render", "--plates", str(tmp_path / "none.####.exr"), "--out",
                 str(tmp_path / "o.####.exr"), "--model", "m.pt", "--identity", "x"]) == 1
    error_line = capsys.readouterr().err.strip().splitlines()[-1]
    lines = ["Progress: 0%", "Progress: 33%", "Progress: 40% (align 20/50)", error_line,
             "ERROR faceswap_vfx.render.job: frame 1003 failed: truncated", "INFO x: fine"]
    for line in lines:
        plugin.feed(line)
    events = [parse_line(line) for line in lines]
    assert [r for r in plugin.reported if r[0] == "progress"] == [
        ("progress", float(e.percent)) for e in events if e.kind == "progress"]
    assert ("status", "40% (align 20/50)") in plugin.reported
    assert ("fail", events[3].text) in plugin.reported and "m.pt" in events[3].text
    assert ("warning", "frame 1003 failed: truncated") in plugin.reported
    assert len(plugin.reported) == 3 * 2 + 2  # nothing else matched "INFO x: fine"


def test_submit_through_deadlinecommand(shot, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DEADLINE_PATH", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(FarmUnavailableError, match="deadlinecommand not found"):
        get_farm("deadline").submit(build_job(read_shot_inputs(shot)))
    bin_dir = tmp_path / "deadline" / "bin"
    bin_dir.mkdir(parents=True)
    fake = bin_dir / "deadlinecommand"  # records its arguments and the job files it was given
    fake.write_text(f'#!/bin/sh\necho "$@" > {bin_dir}/args\n'
                    f'/bin/cat "$1" "$2" > {bin_dir}/files\n'
                    'echo "Result=Success"\necho "JobID=64f1c0ffee"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("DEADLINE_PATH", str(bin_dir))
    assert main(["submit", "--farm", "deadline", "--shot", str(shot), "--chunk", "8"]) == 0
    assert "submitted to deadline: 64f1c0ffee" in capsys.readouterr().out
    assert (bin_dir / "args").read_text().split()[0].endswith("/render.job_info.job")
    sent = read_info((bin_dir / "files").read_text())
    assert sent["Plugin"] == "FaceswapVFX" and sent["ChunkSize"] == "8"
    assert sent["Executable"].startswith("/") and "--frames" not in sent["Arguments"]
    fake.write_text("#!/bin/sh\necho 'Error: no such pool'\nexit 1\n")
    assert main(["submit", "--farm", "deadline", "--shot", str(shot)]) == 1
    assert "no such pool" in capsys.readouterr().err
