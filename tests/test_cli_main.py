"""The console script's process-wide set-up."""

from __future__ import annotations

import subprocess
import sys

CRASH_AFTER_MAIN = """
import os
from faceswap_vfx.cli.main import main
main([])  # no command: prints the help
os.abort()  # what a crash in native code (a codec, torch) looks like to Python
"""


def test_a_native_crash_prints_the_python_stack():
    """On a farm the log is all there is: a process killed by SIGABRT or SIGSEGV in native
    code says where in Python it was."""
    done = subprocess.run([sys.executable, "-c", CRASH_AFTER_MAIN], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode != 0
    assert "Fatal Python error: Aborted" in done.stderr, done.stderr[-2000:]
    assert 'File "<string>", line 5' in done.stderr  # the line that crashed
