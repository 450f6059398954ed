"""Evaluation of a trained comb network, and the paper's latent-space tools.

Modules in dependency order (each imports only those before it, and the layers below
``eval``: errors, params, core, io, model, train):

1. ``metrics``         1-SSIM, 1-MS-SSIM, PSNR, L1, L2 per image, whole crop and face mask
2. ``jpeg``            the JPEG baseline at a quality or at the latent's byte size
3. ``data``            aligned crops from a dataset folder or a folder of crops
4. ``network``         a run's encoder and every identity's decoder, for evaluation
5. ``reconstruction``  held-out crops through their own head, against JPEG
6. ``temporal``        flicker of a rendered sequence inside the face vs the plate's own
7. ``latent``          interpolation, nearest neighbours, expression directions
8. ``synthetic``       stand-in groups of crops (jitters, a mouth-corner warp) for demos
9. ``report``          the JSON of all figures and the HTML report with PNG grids
10. ``evaluate``       everything above for ``faceswap-vfx eval``
"""
