"""faceswap_vfx Nuke plug-in, loaded by Nuke at start-up (GUI, terminal and render).

Adds ``gizmos/`` to the plug-in path, and the folder above (a faceswap_vfx source
checkout) to Python's path so the FaceSwap, FaceAlign and FaceUnalign buttons can import
``faceswap_vfx.nuke`` (plain Python: no numpy, torch or dlib in Nuke). The backend itself
runs as ``faceswap-vfx`` from its own environment: on PATH or in $FACESWAP_VFX_EXE.
Install: NUKE_PATH=<checkout>/nuke_gizmos, or nuke.pluginAddPath("<checkout>/nuke_gizmos")
in a studio init.py.
"""

import os
import sys

import nuke

try:
    HERE = os.path.dirname(os.path.abspath(__file__))
except NameError:  # a Nuke that runs init.py without __file__: rely on the relative path
    HERE = ""

nuke.pluginAddPath(os.path.join(HERE, "gizmos") if HERE else "./gizmos")
CHECKOUT = os.path.dirname(HERE) if HERE else os.environ.get("FACESWAP_VFX_ROOT", "")
if CHECKOUT and os.path.isdir(os.path.join(CHECKOUT, "faceswap_vfx")) \
        and CHECKOUT not in sys.path:
    sys.path.append(CHECKOUT)
