"""What Nuke's own Python imports of faceswap_vfx runs there: on Python 3.9 (Nuke 14's;
checked with vermin's minimum-version analysis) and with no third-party package (imported
here with torch, numpy, PySide6 and the rest made unimportable)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BLOCKED = ("torch", "numpy", "PySide6", "scipy", "OpenImageIO", "OpenEXR", "dlib", "tqdm",
           "skimage", "matplotlib")

IMPORT_BLOCKED = textwrap.dedent(f"""
    import importlib.abc, json, sys

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {BLOCKED!r}:
                raise ImportError(f"{{name}} is not in Nuke's Python")
            return None

    sys.meta_path.insert(0, Block())
    import faceswap_vfx.nuke.callbacks
    import faceswap_vfx.backend
    print(json.dumps(sorted(m.__file__ for n, m in sys.modules.items()
                            if n.startswith("faceswap_vfx") and getattr(m, "__file__", None))))
""")


def nuke_modules() -> list[str]:
    done = subprocess.run([sys.executable, "-c", IMPORT_BLOCKED], capture_output=True,
                          text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, f"Nuke's Python would fail: {done.stderr.strip()[-800:]}"
    return json.loads(done.stdout)


def test_the_modules_nuke_imports_need_no_third_party_package():
    files = nuke_modules()
    assert any(f.endswith("nuke/callbacks.py") for f in files)
    assert any(f.endswith("faceswap_vfx/backend.py") for f in files)


def test_the_modules_nuke_imports_run_on_python_3_9():
    files = [*nuke_modules(), str(ROOT / "nuke_gizmos" / "init.py"),
             str(ROOT / "nuke_gizmos" / "menu.py")]
    done = subprocess.run([str(Path(sys.executable).parent / "vermin"), "-t=3.9-", "--no-tips",
                           "--violations", *files], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]


def test_vermin_finds_code_that_needs_a_newer_python(tmp_path):
    newer = tmp_path / "newer.py"
    newer.write_text("def f(x):\n    match x:\n        case 1:\n            return 1\n")
    done = subprocess.run([str(Path(sys.executable).parent / "vermin"), "-t=3.9-", "--no-tips",
                           "--violations", str(newer)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode != 0
