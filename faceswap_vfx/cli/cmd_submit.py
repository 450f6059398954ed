"""``faceswap-vfx submit``: a shot as a render-farm job of chunked ``faceswap-vfx render`` tasks."""

from __future__ import annotations

import argparse

EXAMPLE = """example:
  faceswap-vfx submit --farm opencue --shot shot010.shot.json --frames 1001-1240 --chunk 10
  faceswap-vfx submit --farm deadline --shot shot010.shot.json --chunk 10 --align-prepass \\
      --option Pool=gpu --option Priority=60 --dry-run farm/shot010
  faceswap-vfx submit --farm local --shot shot010.shot.json --option workers=2

The shot file's inputs name the plates, the output, the alignment file and (optionally) the
frames; its params (model, identity, blend settings, ...) go into every task's command.
Tasks render with 'faceswap-vfx render ... --frames <chunk>': done frames are skipped, so a
retried task finishes what a killed one started."""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "submit", help="send a shot to a render farm (OpenCue, Deadline) in chunks",
        description="Build a farm job from a shot file: one task per chunk of frames, each "
                    "running 'faceswap-vfx render' on its frames, optionally after an "
                    "alignment pre-pass over all frames that the render tasks wait for. "
                    "Submit it, or write the farm's job files with --dry-run.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--farm", required=True, metavar="FARM",
                   help="opencue, deadline or local (every task as a process on this machine)")
    p.add_argument("--shot", metavar="SHOT.json", help="shot file (required)")
    p.add_argument("--frames", help="frames to render, e.g. 1001-1240 (default: the shot's "
                                    "inputs.frames)")
    p.add_argument("--chunk", type=int, default=10, help="frames per task (default 10)")
    p.add_argument("--align-prepass", action="store_true",
                   help="first align every frame in one task (writes the shot's inputs.align); "
                        "the render tasks wait for it")
    p.add_argument("--dry-run", metavar="FOLDER",
                   help="write the job files into FOLDER instead of submitting")
    p.add_argument("--name", help="job name (default: <shot>_faceswap)")
    p.add_argument("--executable",
                   help="command that runs faceswap-vfx on the farm machines, made an "
                        "absolute path (default: the faceswap-vfx installed beside this "
                        "Python; e.g. '/opt/fsvfx/bin/faceswap-vfx')")
    p.add_argument("--env", action="append", default=[], metavar="NAME[=VALUE]",
                   help="an environment variable for the tasks: NAME takes its value here, "
                        "NAME=VALUE sets it; repeat. OCIO is always carried when set")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="a farm setting, e.g. show=demo (OpenCue), Pool=gpu (Deadline), "
                        "workers=2 (local); repeat; --list-options shows them")
    p.add_argument("--list-options", action="store_true",
                   help="print the options of --farm and exit")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from faceswap_vfx.backend import absolute_command
    from faceswap_vfx.errors import FarmError
    from faceswap_vfx.farm.job import build_job, farm_environment
    from faceswap_vfx.farm.registry import farms, get_farm
    from faceswap_vfx.farm.shot import read_shot_inputs
    from faceswap_vfx.io.output_guard import check_not_inputs
    from faceswap_vfx.io.sequence import ImageSequence, format_frames, parse_frames

    if args.list_options:
        cls = farms().get(args.farm)
        if cls is None:
            raise FarmError(f"unknown farm {args.farm!r}; known: {', '.join(sorted(farms()))}")
        for key, text in cls.option_help.items():
            print(f"{key:>20}  {text}")
        return 0
    if not args.shot:
        raise FarmError("--shot SHOT.json is required")
    options = {}
    for item in args.option:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise FarmError(f"--option {item!r} is not KEY=VALUE")
        options[key] = value
    farm = get_farm(args.farm, options)
    inputs = read_shot_inputs(args.shot, align_prepass=args.align_prepass)
    frames = parse_frames(args.frames) if args.frames else None
    job = build_job(inputs, frames, args.chunk, align_prepass=args.align_prepass,
                    executable=absolute_command(args.executable), name=args.name,
                    env=farm_environment(args.env))
    render = job.layer("render")
    check_not_inputs(inputs.out, render.frames, {"inputs.plates": inputs.plates,
                                                 "inputs.align": inputs.align}, "inputs.out")
    plates = ImageSequence.find(inputs.plates, list(render.frames))
    if plates.missing:
        print(f"faceswap-vfx submit: warning: plate frames not on disk (their tasks will "
              f"fail): {format_frames(plates.missing)}")
    tasks = sum(len(layer.tasks()) for layer in job.layers)
    print(f"job {job.name}: {', '.join(layer.name for layer in job.layers)}; "
          f"{len(render.frames)} frames in {len(render.tasks())} task(s) of {render.chunk}"
          f"{'' if tasks == len(render.tasks()) else f', {tasks} tasks in all'}")
    if args.dry_run:
        for path in farm.write(job, args.dry_run):
            print(f"wrote {path}")
        return 0
    print(f"submitted to {args.farm}: {farm.submit(job)}")
    return 0
