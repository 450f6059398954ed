"""``faceswap-vfx``: one console script, one module per subcommand.

Each ``faceswap_vfx/cli/cmd_<name>.py`` defines ``register(subparsers)``, which adds its
parser and sets ``func`` to a callable ``func(args) -> int`` (the exit code). Modules are
found by name, so adding a subcommand touches no other file. Registration imports nothing
heavy; each ``func`` imports what it needs.
"""

from __future__ import annotations

import argparse
import faulthandler
import importlib
import logging
import pkgutil
import signal
import sys
import threading

import faceswap_vfx
from faceswap_vfx.errors import FaceswapError, Terminated
from faceswap_vfx.io.thread_stdout import install as install_thread_stdout


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="faceswap-vfx",
        description="High-resolution neural face swapping for VFX plates.",
    )
    parser.add_argument("--version", action="version", version=faceswap_vfx.__version__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    package = importlib.import_module("faceswap_vfx.cli")
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith("cmd_"):
            importlib.import_module(f"faceswap_vfx.cli.{info.name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    if not faulthandler.is_enabled():  # a crash in native code (a codec, torch, a driver)
        faulthandler.enable()  # prints every thread's Python stack into the farm log
    install_thread_stdout()  # sys.stdout's one replacement, before any thread prints
    on_main = threading.current_thread() is threading.main_thread()
    old_sigterm = signal.signal(signal.SIGTERM, _terminate) if on_main else None
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except FaceswapError as exc:
        print(f"faceswap-vfx {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # output piped into head & co.
        sys.stderr.close()
        return 0
    except Terminated:
        print(f"faceswap-vfx {args.command}: terminated (SIGTERM): stopped cleanly, no "
              f"partial file left", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print(f"faceswap-vfx {args.command}: interrupted", file=sys.stderr)
        return 130
    finally:
        if on_main:
            signal.signal(signal.SIGTERM, old_sigterm)


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


if __name__ == "__main__":
    sys.exit(main())
