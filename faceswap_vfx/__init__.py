"""faceswap_vfx: high-resolution neural face swapping for visual effects.

Layers, lowest first; each imports only those above it in this list:

1. ``errors``, ``params``  the named errors and the one parameter schema
2. ``core``    pure torch/numpy math: geometry, warps, pyramids, blend, masks
3. ``io``      every file: EXR/image sequences, colour through OCIO, atomic writes
4. ``face``    dlib detection, landmarks, tracking, stabilisation, alignment files
5. ``model``   the comb network, losses, export
6. ``train``   datasets, augmentation, the progressive schedule and loop, DDP
   ``eval``    metrics and latent-space tools (beside ``train``: uses model and train)
7. ``render``  the node library and the per-frame swap
8. front ends: ``demo``, ``nuke`` (gizmos, Nuke glue), ``ui`` (the panel), ``farm`` (job
   builders), ``cli`` (``faceswap-vfx``)

``tests/test_layers.py`` checks every module's imports against this order.

Importing this package imports nothing heavy (no torch, no OpenImageIO).
"""

__version__ = "0.1.0"
