"""What one thread prints is caught; other threads still print to stdout."""

import sys
import threading

from faceswap_vfx.io.thread_stdout import caught_prints


def test_only_the_catching_thread_is_caught(capsys):
    before = sys.stdout
    inside, printed = threading.Event(), threading.Event()

    def other():
        inside.wait(5)
        print("from the other thread")
        printed.set()

    thread = threading.Thread(target=other)
    thread.start()
    with caught_prints() as caught:
        print("from this thread")
        inside.set()
        assert printed.wait(5)
    thread.join()
    assert caught.getvalue() == "from this thread\n"
    assert capsys.readouterr().out == "from the other thread\n"
    assert sys.stdout is before


def test_nested_and_overlapping_catches_restore_stdout(capsys):
    before = sys.stdout
    with caught_prints() as outer:
        with caught_prints() as inner:
            print("inner")
        print("outer")
    print("after")
    assert (outer.getvalue(), inner.getvalue()) == ("outer\n", "inner\n")
    assert capsys.readouterr().out == "after\n" and sys.stdout is before
