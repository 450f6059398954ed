"""The artist panel (PySide6): edit a shot's parameters, look at the swap, drive a render.

The panel edits parameters; the backend renders (STYLE.md, principle 10). Modules, lowest
first:

* ``backend``        how the panel reaches ``faceswap-vfx`` (the command, in Nuke too) and
                     the preview protocol: JSON lines over a worker process's stdin/stdout;
* ``preview_engine`` the preview itself, on numpy/torch/render: runs only in the worker;
* ``preview_worker`` the worker process's loop (``faceswap-vfx panel --preview-worker``);
* ``editors``        Qt widgets generated from the parameter schema, one per parameter,
                     and the foldable sections that group them;
* ``viewer``         the image view: swap, plate/swap wipe, mask overlay, pyramid bands;
* ``preview_client`` the UI side of the worker: coalesced requests, replies as QImages;
* ``render_runner``  ``faceswap-vfx render`` in a background process, progress, cancel;
* ``panel``          :class:`~faceswap_vfx.ui.panel.ShotPanel`, the whole panel as one
                     widget (Nuke docks it);
* ``app``            the stand-alone window (``faceswap-vfx panel``).

Nothing the UI thread imports (``editors``, ``viewer``, ``preview_client``,
``render_runner``, ``panel``, ``app``) imports torch, numpy or OpenImageIO: that work is in the
worker process. Importing this package imports nothing.
"""
