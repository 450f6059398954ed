"""Deadline jobs: CommandLine plugin job/plugin info files, what the plugin makes of each
task's <STARTFRAME>/<ENDFRAME>, the deadlinecommand line, and a submission through a stand-in
deadlinecommand. (Deadline has no client library on PyPI: the plugin's token substitution is
re-done here with the regexes of its CommandLine.py.)"""

from __future__ import annotations

import re
import shlex
import stat

import pytest
from test_farm_job import make_shot

from faceswap_vfx.cli.main import main
from faceswap_vfx.errors import FarmError, FarmUnavailableError
from faceswap_vfx.farm.backend_deadline import PROGRESS_REGEX, read_info
from faceswap_vfx.farm.job import build_job, chunks
from faceswap_vfx.farm.registry import get_farm
from faceswap_vfx.farm.shot import read_shot_inputs
from faceswap_vfx.io.sequence import parse_frames


def plugin_arguments(arguments: str, start: int, end: int) -> str:
    """The CommandLine plugin's GetRenderArguments for a task of frames start..end."""
    arguments = re.sub(r"<STARTFRAME>", str(start), arguments, flags=re.IGNORECASE)
    arguments = re.sub(r"<ENDFRAME>", str(end), arguments, flags=re.IGNORECASE)
    return re.sub(r"<QUOTE>", '"', arguments, flags=re.IGNORECASE)


def frames_read(argv: list[str]) -> list:
    """``argv`` with the value of ``--frames`` as the frames it means."""
    i = argv.index("--frames") + 1
    return [*argv[:i], parse_frames(argv[i]), *argv[i + 1:]]


def deadline_tasks(job_info: dict[str, str]) -> list[tuple[int, ...]]:
    """Deadline's tasks: the job's frame list cut into ChunkSize consecutive frames."""
    return chunks(parse_frames(job_info["Frames"]), int(job_info["ChunkSize"]))


@pytest.fixture
def shot(tmp_path):
    return make_shot(tmp_path, plate_levels=3)


def test_files_give_each_task_the_local_command(shot, tmp_path):
    job = build_job(read_shot_inputs(shot, align_prepass=True), parse_frames("1001-1023"), 10,
                    align_prepass=True, executable=["/opt/fs/bin/faceswap-vfx"])
    farm = get_farm("deadline", {"Pool": "gpu", "Group": "cuda", "Priority": "60"})
    files = farm.write(job, tmp_path / "job")
    assert sorted(p.name for p in files) == ["align.job_info.job", "align.plugin_info.job",
                                             "render.job_info.job", "render.plugin_info.job",
                                             "submit.sh"]
    for layer in job.layers:
        job_info = read_info((tmp_path / "job" / f"{layer.name}.job_info.job").read_text())
        plugin = read_info((tmp_path / "job" / f"{layer.name}.plugin_info.job").read_text())
        assert job_info["Plugin"] == "CommandLine"
        assert (job_info["BatchName"], job_info["Pool"], job_info["Priority"]) == \
            ("shot010_faceswap", "gpu", "60")
        assert plugin["Executable"] == "/opt/fs/bin/faceswap-vfx"
        assert plugin["Arguments"].count("<STARTFRAME>-<ENDFRAME>") == 1
        tasks = deadline_tasks(job_info)
        assert [f for f, _ in layer.tasks()] == tasks
        for frames, argv in layer.tasks():
            args = plugin_arguments(plugin["Arguments"], frames[0], frames[-1])
            assert frames_read([plugin["Executable"], *shlex.split(args)]) == frames_read(argv)
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


def test_stepped_frames_and_uneven_frames(shot):
    inputs = read_shot_inputs(shot)
    farm = get_farm("deadline")
    stepped = build_job(inputs, parse_frames("1001-1019x2"), 4)
    job_info, plugin = farm.infos(stepped)["render"]
    assert "--frames <STARTFRAME>-<ENDFRAME>x2" in plugin["Arguments"]
    assert job_info["Frames"] == "1001-1019x2"
    for frames, argv in stepped.layer("render").tasks():
        args = shlex.split(plugin_arguments(plugin["Arguments"], frames[0], frames[-1]))
        assert frames_read(args) == frames_read(argv[1:])
    with pytest.raises(FarmError, match="not evenly spaced"):
        farm.infos(build_job(inputs, parse_frames("1001-1010,1020"), 4))
    assert farm.command_line(build_job(inputs, chunk=4), "/x")[1:] == \
        ["/x/render.job_info.job", "/x/render.plugin_info.job"]


def test_progress_handler_reads_render_lines():
    lines = ["Progress: 0%", "Progress: 33%\n", "INFO render: Progress: 100%"]
    assert [re.match(PROGRESS_REGEX, line).group(1) for line in lines] == ["0", "33", "100"]


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
    assert sent["Plugin"] == "CommandLine" and sent["ChunkSize"] == "8"
    assert "--frames <STARTFRAME>-<ENDFRAME>" in sent["Arguments"]
    fake.write_text("#!/bin/sh\necho 'Error: no such pool'\nexit 1\n")
    assert main(["submit", "--farm", "deadline", "--shot", str(shot)]) == 1
    assert "no such pool" in capsys.readouterr().err
