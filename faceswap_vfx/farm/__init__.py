"""Render-farm submission: a shot file becomes a job of chunked ``faceswap-vfx render`` tasks.

Modules, lowest first: ``shot`` (what a submittable shot file holds), ``job`` (the
farm-neutral job: layers, chunks, commands), ``registry`` (the farm back ends by name), then
one module per back end, found by name like the CLI's subcommands: ``backend_opencue``
(pyoutline/pycue), ``backend_deadline`` (CommandLine plugin job files, ``deadlinecommand``),
``backend_local`` (every task as a process on this machine, a few at a time, with retries).

The farm layer builds command lines and files; it never imports ``render`` or ``train``:
the tasks call the ``faceswap-vfx`` command. Importing this package imports nothing heavy.
"""
