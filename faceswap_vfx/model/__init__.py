"""The comb network: shared encoder, shared decoder trunk, per-identity heads; losses; export.

Modules, lowest first: ``config`` (the frozen :class:`CombConfig`), ``table1`` (the paper's
Table 1 as printed), ``layers`` (one level's blocks), ``comb`` (:class:`CombNetwork`),
``ssim`` and ``perceptual`` (loss maths), ``losses`` (the loss registry), ``export``
(one identity as TorchScript), ``inference`` (an export rewritten for rendering).
Importing this package imports nothing heavy; import the modules.
"""
