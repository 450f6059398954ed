"""What one thread prints is caught; other threads still print to stdout; and nothing swaps
``sys.stdout`` while threads print (each case runs in a fresh interpreter, as a command does)."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def run(code: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout)


def test_only_the_catching_thread_is_caught():
    done = run("""
        import sys, threading
        from faceswap_vfx.io.thread_stdout import ThreadStdout, caught_prints
        installed = sys.stdout
        assert isinstance(installed, ThreadStdout)
        inside, printed = threading.Event(), threading.Event()
        def other():
            inside.wait(5)
            print("from the other thread")
            printed.set()
        thread = threading.Thread(target=other)
        thread.start()
        with caught_prints() as outer:
            with caught_prints() as inner:
                print("inner")
                inside.set()
                assert printed.wait(5)
            print("outer")
        thread.join()
        print("after")
        assert (outer.getvalue(), inner.getvalue()) == ("outer\\n", "inner\\n")
        assert sys.stdout is installed  # never swapped back and forth
        """)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "from the other thread\nafter\n"


def test_catching_while_other_threads_print_never_crashes():
    """The old design swapped sys.stdout in and out on every catch; with a thread printing
    meanwhile, CPython 3.11's print() could write to a freed stream (segfaults, stray
    AttributeErrors in renders). Thousands of catches against two printing threads."""
    done = run("""
        import sys, threading, time
        from faceswap_vfx.io.thread_stdout import caught_prints
        stop = False
        def chatter():
            n = 0
            while not stop:
                print("Progress:", n)
                n += 1
        threads = [threading.Thread(target=chatter) for _ in range(2)]
        for t in threads:
            t.start()
        end = time.monotonic() + 3
        caught = 0
        while time.monotonic() < end:
            with caught_prints() as buf:
                print("warning")
            caught += buf.getvalue() == "warning\\n"
        stop = True
        for t in threads:
            t.join()
        print("caught", caught, file=sys.stderr)
        """)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Error" not in done.stderr and "warning" not in done.stdout
    assert int(done.stderr.split("caught")[1]) > 1000
    assert done.stdout.count("Progress:") > 1000


def test_a_replaced_stdout_is_left_alone():
    """Where something else replaced sys.stdout (a test capture, redirect_stdout), catching
    does not swap it: the prints go there and the buffer stays empty."""
    done = run("""
        import contextlib, io, sys
        from faceswap_vfx.io.thread_stdout import caught_prints
        mine = io.StringIO()
        with contextlib.redirect_stdout(mine):
            with caught_prints() as buf:
                print("hello")
            assert sys.stdout is mine
        assert (mine.getvalue(), buf.getvalue()) == ("hello\\n", "")
        """)
    assert done.returncode == 0, done.stderr
