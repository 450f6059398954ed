"""A wheel built from this checkout carries what the installed package reads at run time:
the blend kernels (GL preview, ``gizmos write``) and the libtorch operator lists (export).
Built for real with pip, installed into a fresh venv without dependencies, and used from
outside the checkout by a Python that has neither torch nor numpy."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from faceswap_vfx.nuke.gizmos import generate

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def fresh_python(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wheel")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                            "--no-build-isolation", "-w", str(folder / "dist"), str(ROOT)],
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next((folder / "dist").glob("faceswap_vfx-*.whl"))
    venv.create(folder / "venv", with_pip=False)
    python = folder / "venv" / "bin" / "python"
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                              "-q", "--no-deps", str(wheel)], capture_output=True, text=True,
                             timeout=300)
    assert install.returncode == 0, install.stderr[-2000:]
    return python, folder


def run(python: Path, cwd: Path, code: str) -> str:
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True,
                          cwd=cwd, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_the_installed_wheel_generates_the_gizmos_from_its_own_kernels(fresh_python):
    python, folder = fresh_python
    out = run(python, folder, "import json, sys, faceswap_vfx.nuke.shaders as s\n"
                              "from faceswap_vfx.nuke.gizmos import generate\n"
                              "assert 'torch' not in sys.modules and 'numpy' not in sys.modules\n"
                              "print(json.dumps([str(s.SHADERS), generate()]))")
    shaders, gizmos = json.loads(out)
    assert Path(shaders).is_relative_to(folder / "venv"), shaders  # the wheel's own copy
    assert gizmos == generate()  # the same gizmos, kernels included, as the checkout makes


def test_the_installed_wheel_has_the_libtorch_operator_lists(fresh_python):
    python, folder = fresh_python
    out = run(python, folder, "from importlib import resources\n"
                              "d = resources.files('faceswap_vfx.model') / 'libtorch_ops'\n"
                              "print(sorted(p.name for p in d.iterdir()))")
    assert out.strip() == "['1.13.1.txt', '2.1.1.txt']"
