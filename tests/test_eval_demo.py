"""``faceswap-vfx eval --demo``: the report on the shipped demo model, every table and grid."""

import json

from faceswap_vfx.cli.main import main

METRICS = {"1-ssim", "1-ms_ssim", "psnr", "l1", "l2"}


def test_eval_demo_writes_every_table_and_grid(tmp_path, capsys):
    assert main(["eval", "--demo", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    for identity in ("astronaut", "grace_hopper"):
        figures = report["reconstruction"][identity]["figures"]
        assert set(figures) == {"network", "jpeg_latent_size", "jpeg_q85"}
        for method in figures.values():
            assert METRICS <= set(method)
            for metric in METRICS:
                assert {"crop", "mask"} <= set(method[metric])
        # JPEG at quality 85 reconstructs better than JPEG squeezed to the latent's size
        assert figures["jpeg_q85"]["l1"]["crop"]["mean"] < \
            figures["jpeg_latent_size"]["l1"]["crop"]["mean"]
    flicker = report["temporal"]["first"]
    assert flicker["render"] > 0 and flicker["plate"] > 0 and flicker["steps"] > 0
    assert report["interpolation"] and report["nearest_neighbours"] and report["expression"]
    html = (tmp_path / "index.html").read_text()
    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    assert any(p.startswith("interpolation_out_") for p in pngs)
    assert all(name in html for name in pngs)  # every grid is shown in the report
