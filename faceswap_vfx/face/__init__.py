"""Faces: detection, landmarks, tracking, stabilisation, alignment files, datasets.

dlib lives here and nowhere else; everything returned is numpy arrays and plain
dataclasses in continuous plate pixels (see :mod:`faceswap_vfx.core.geometry`).
Modules, lowest first: ``models`` (the .dat files), ``convert`` (dlib <-> our pixel
convention), ``detect``, ``landmarks``, ``track``, ``stabilise``, ``find`` (in-memory
frames), ``align_file`` (the versioned JSON), ``pipeline`` (sequences on disk),
``extract`` (training datasets). Importing this package imports nothing.
"""
