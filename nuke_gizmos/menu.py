"""faceswap_vfx Nuke plug-in, GUI only: a "FaceSwapVFX" toolbar menu with the gizmos."""

import nuke

GIZMOS = ("FaceSwap", "MultiBandBlend", "FaceAlign", "FaceUnalign")
"""Gizmo names (``gizmos/<name>.gizmo``), in menu order."""

toolbar = nuke.menu("Nodes").addMenu("FaceSwapVFX")
for _name in GIZMOS:
    toolbar.addCommand(_name, f"nuke.createNode('{_name}')")
