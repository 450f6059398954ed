"""faceswap_vfx Nuke plug-in, GUI only: a "FaceSwapVFX" toolbar menu with the gizmos, and
the artist panel as a dockable pane."""

import nuke

GIZMOS = ("FaceSwap", "MultiBandBlend", "FaceAlign", "FaceUnalign")
"""Gizmo names (``gizmos/<name>.gizmo``), in menu order."""

toolbar = nuke.menu("Nodes").addMenu("FaceSwapVFX")
for _name in GIZMOS:
    toolbar.addCommand(_name, f"nuke.createNode('{_name}')")

# The artist panel (faceswap_vfx.ui, PySide6: Nuke 15+), docked from Pane > FaceSwapVFX Shot.
# The class is imported when the panel is first opened, not at start-up.
PANEL = "__import__('faceswap_vfx.ui.panel', fromlist=['ShotPanel']).ShotPanel"
try:
    import nukescripts
except ImportError:  # a stand-in nuke without nukescripts (tests)
    nukescripts = None
if nukescripts is not None:
    nukescripts.panels.registerWidgetAsPanel(PANEL, "FaceSwapVFX Shot",
                                             "com.faceswap_vfx.ShotPanel")
