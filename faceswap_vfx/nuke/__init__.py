"""Nuke front end: gizmo generation, alignment baking, the FaceSwap render glue.

Modules, lowest first: ``tcl`` (read and write the gizmo/TCL syntax), ``knobs`` (schema
parameters as knobs, the documented internal knobs), ``script`` (``.gizmo`` writer, the
Nuke node classes used), ``blend_passes`` (the shader passes of MultiBandBlend),
``shaders`` (the kernels of ``shaders/``, their prelude spliced in), ``gizmos`` (the
generated gizmos), ``align`` (alignment file -> Transform animation; runs in the backend,
needs numpy), ``model_info``, ``blink`` (KernelDescription) and ``callbacks`` (what
the gizmos' buttons call; the only module that imports ``nuke``, inside its functions).
Importing this package imports nothing.
"""
