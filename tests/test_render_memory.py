"""The render's frame-sized, mostly-zero arrays: zeros, in small pages on Linux."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from faceswap_vfx.render.memory import zeros_for_sparse_writes


def vm_flags(address: int) -> set[str]:
    """The kernel's VmFlags of the mapping holding ``address`` (/proc/self/smaps)."""
    inside = False
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            head = line.split()[0]
            if "-" in head and not head.endswith(":"):
                lo, hi = (int(x, 16) for x in head.split("-"))
                inside = lo <= address < hi
            elif inside and head == "VmFlags:":
                return set(line.split()[1:])
    raise LookupError(f"no mapping holds {address:#x}")


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.uint16])
def test_zeros_of_the_shape_and_type_asked(dtype):
    a = zeros_for_sparse_writes((1080, 2048), dtype)
    assert a.shape == (1080, 2048) and a.dtype == dtype and a.flags.c_contiguous
    assert not a.any()
    a[500:600, 700:900] = 1
    assert a.sum() == 100 * 200


def test_small_arrays_are_plain_zeros():
    a = zeros_for_sparse_writes((16, 16), np.float32)
    assert a.shape == (16, 16) and not a.any()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="madvise is Linux's")
def test_a_frame_sized_array_is_kept_off_huge_pages():
    plain = np.zeros((2160, 4096), np.float16)  # numpy's own: normally not so marked
    if "nh" in vm_flags(plain.ctypes.data + plain.nbytes // 2):
        pytest.skip("this process's heap is marked already: the test could not tell")
    a = zeros_for_sparse_writes((2160, 4096), np.float16)
    assert "nh" in vm_flags(a.ctypes.data + a.nbytes // 2)  # MADV_NOHUGEPAGE took effect
