"""Everything ``faceswap-vfx eval`` computes and writes, from an :class:`EvalSpec`.

Sections of the report, each skipped (and said so) when its inputs are not given:

1. reconstruction of each ``--data`` set through its own head, against JPEG at the
   latent's byte size and at quality 85, whole crop and face mask, with example grids;
2. temporal stability of a rendered sequence against its plate;
3. latent interpolation between the two crops of each set whose latents are farthest
   apart (Fig. 15), and between two crops of each out-of-sample person (Fig. 16);
4. nearest training images of generated faces (Fig. 14);
5. an expression direction applied at several strengths.
"""

from __future__ import annotations

import datetime
import html
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from faceswap_vfx.errors import DatasetError, FaceswapError, ParameterError
from faceswap_vfx.eval.data import Crops, load_crops
from faceswap_vfx.eval.latent import (
    STEPS,
    apply_direction,
    farthest_pair,
    interpolate,
    nearest_neighbours,
)
from faceswap_vfx.eval.metrics import METRICS, REGIONS
from faceswap_vfx.eval.network import EvalNetwork, load_network
from faceswap_vfx.eval.reconstruction import (
    JPEG_QUALITY,
    Reconstruction,
    mean_over_identities,
    reconstruct,
)
from faceswap_vfx.eval.report import Grid, Tile, table, write_grid, write_report
from faceswap_vfx.eval.temporal import temporal_stability
from faceswap_vfx.io.atomic import ensure_writable_dir
from faceswap_vfx.model.direction import read_direction

log = logging.getLogger(__name__)

STRENGTHS = (-2.0, -1.0, 0.0, 1.0, 2.0)
NN_RESOLUTION = 128
"""Side in px at which nearest neighbours are searched (at most the network's): every
training image is held in memory at this size."""


@dataclass
class EvalSpec:
    """What to evaluate. ``data``/``train_data``/``outside``: ``(name, path)`` pairs (a
    dataset folder, a folder of aligned crops or one crop); ``data`` names must be the
    model's identities. ``render``/``plates``: patterns of a rendered sequence and its
    plate. ``notes``: lines shown at the top of the report (e.g. what the data is)."""

    run: Path
    out: Path
    data: list[tuple[str, Path]]
    train_data: list[tuple[str, Path]] = field(default_factory=list)
    outside: list[tuple[str, Path]] = field(default_factory=list)
    direction: Path | None = None
    render: str | None = None
    plates: str | None = None
    frames: str | None = None
    plate_colorspace: str = "scene_linear"
    ocio_config: str = ""
    max_crops: int | None = 64
    examples: int = 4
    jpeg_quality: int = JPEG_QUALITY
    strengths: tuple[float, ...] = STRENGTHS
    notes: list[str] = field(default_factory=list)
    device: str = "cpu"


def run_training_data(run: Path) -> list[tuple[str, Path]]:
    """The run's own datasets (``config.json``) that can be found: as written, or relative
    to the run folder, its parent or the current folder."""
    config = run / "config.json" if run.is_dir() else run.parent.parent / "config.json"
    try:
        data = json.loads(config.read_text())["data"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    found = []
    for name, folder in data:
        for base in (Path(), config.parent, config.parent.parent):
            if (base / folder / "manifest.json").is_file():
                found.append((name, base / folder))
                break
    return found


def _metrics_table(results: list[Reconstruction], net: EvalNetwork) -> str:
    cols = [f"{m} {r}" for m in METRICS for r in REGIONS]
    rows = []
    for res in results:
        for method, figs in res.figures.items():
            rows.append([f"{res.identity}: {method}",
                         *(figs[m][r]["mean"] for m in METRICS for r in REGIONS),
                         _bytes_of(res, method, net)])
    mean = mean_over_identities(results)
    for method, figs in mean.items():
        rows.append([f"mean of identities: {method}",
                     *(figs[m][r] for m in METRICS for r in REGIONS), ""])
    return table(["crops / method", *cols, "bytes per crop"], rows,
                 "Means over crops. 1-SSIM, 1-MS-SSIM, L1 (mean |error|), L2 (mean squared "
                 "error): lower is better; PSNR (dB): higher is better. 'crop': every pixel; "
                 "'mask': weighted by the face mask. Values in [0, 1] units of the working "
                 "colour space.")


def _bytes_of(res: Reconstruction, method: str, net: EvalNetwork) -> str:
    s = res.sizes[method]
    if method == "network":
        return f"{net.latent_bytes} (latent)"
    q = s["quality"]
    qtxt = f"q {q['min']:.0f}-{q['max']:.0f}" if isinstance(q, dict) else f"q {q}"
    return (f"{s['payload_bytes']['mean']:.0f} payload / {s['file_bytes']['mean']:.0f} file, "
            f"{qtxt}")


def _reconstruction_grid(res: Reconstruction, examples: int) -> Grid:
    methods = list(res.outputs)
    grid = Grid(f"reconstruction_{res.identity}", f"{res.identity}: held-out crops",
                ["input", *methods, "face mask"],
                note="Each row: an input crop, its reconstructions (caption: PSNR crop / "
                     "mask, dB) and the face mask the masked figures use.")
    n = len(res.crops)
    for k in torch.linspace(0, n - 1, min(examples, n)).round().long().tolist():
        tiles: list[Tile | None] = [Tile(res.crops.images[k])]
        for m in methods:
            p = res.per_image[m]["psnr"]
            tiles.append(Tile(res.outputs[m][k],
                              f"{p['crop'][k]:.1f} / {p['mask'][k]:.1f}"))
        tiles.append(Tile(res.crops.masks[k].expand(3, -1, -1)))
        grid.rows.append((res.crops.labels[k], tiles))
    return grid


def _interpolation_section(net: EvalNetwork, sets: list[Crops], in_sample: bool,
                           figures: list[dict[str, Any]], out: Path) -> str:
    parts = []
    for crops in sets:
        if len(crops) < 2:
            parts.append(f"<p>{html.escape(crops.name)}: one crop only, no pair to "
                         "interpolate.</p>")
            continue
        i, j = farthest_pair(net.encode(crops.images))
        lerp = interpolate(net, crops.images[[i, j]], STEPS, crops.name,
                           (crops.labels[i], crops.labels[j]), in_sample)
        figures.append(lerp.to_json())
        cols = ["anchor 1", *(f"λ={v:.3g}" for v in lerp.lambdas.tolist()), "anchor 2"]
        kind = "in-sample" if in_sample else "out-of-sample (never seen in training)"
        grid = Grid(f"interpolation_{'in' if in_sample else 'out'}_{crops.name}",
                    f"{crops.name} ({kind}): {crops.labels[i]} to {crops.labels[j]}", cols,
                    note="z(λ) = (1-λ) z1 + λ z2 between the latents of the two anchors (the "
                         "set's pair farthest apart in latent space), decoded by each "
                         "identity's head (rows). Caption: max/mean pixel step along the row "
                         "(1 = even transition).")
        for ident, images in lerp.rows.items():
            tiles = [Tile(lerp.anchors[0]), *(Tile(im) for im in images), Tile(lerp.anchors[1])]
            tiles[-1].caption = f"{lerp.smoothness[ident]:.2f}"
            grid.rows.append((f"head {ident}", tiles))
        parts.append(write_grid(grid, out))
    return "".join(parts)


def _neighbour_section(net: EvalNetwork, sets: dict[str, Crops],
                       training: dict[str, Crops], examples: int,
                       figures: list[dict[str, Any]], out: Path) -> str:
    parts = []
    for source, crops in sets.items():
        for target in net.identities:
            if target not in training or (target == source and len(net.identities) > 1):
                continue
            train = training[target]
            picks = crops.take(examples)
            nn = nearest_neighbours(net, picks.images, picks.masks, source, target,
                                    train.images, train.masks, train.labels)
            figures.append(nn.to_json())
            loo = nn.to_json()["training_leave_one_out_median"]
            grid = Grid(f"neighbours_{source}_to_{target}", f"{source} as {target}",
                        [f"input ({source})", f"generated ({target})",
                         f"nearest training image ({target})"],
                        note=f"Nearest neighbour by L2 in pixel space inside the face mask, at "
                             f"{train.images.shape[-1]} px (caption: RMS difference in [0, 1] "
                             "units). Training images' own "
                             "median nearest-neighbour distance: "
                             f"{'-' if loo is None else f'{loo:.4f}'} ({len(train)} images). "
                             "A generated face much closer to a training image than that "
                             "would be a copy.")
            for k in range(len(picks)):
                grid.rows.append((picks.labels[k], [
                    Tile(picks.images[k]), Tile(nn.generated[k]),
                    Tile(nn.nearest[k], f"{train.labels[nn.index[k]]}: "
                                        f"{nn.distance[k]:.4f}")]))
            parts.append(write_grid(grid, out))
    return "".join(parts)


def _group_difference(direction: Any, resolution: int) -> torch.Tensor | None:
    """Mean pixel difference ``(3, R, R)`` of the direction's own groups (``to`` minus
    ``from``) when both folders named in its sources can still be read, else None."""
    src = direction.sources
    try:
        a = load_crops(src["from"], resolution)
        b = load_crops(src["to"], resolution)
    except (KeyError, TypeError, FaceswapError):
        return None
    return b.images.mean(0) - a.images.mean(0)


def _cosine(a: torch.Tensor, b: torch.Tensor, weight: torch.Tensor) -> float:
    a, b = (a * weight).flatten().double(), (b * weight).flatten().double()
    return float(a @ b / (a.norm() * b.norm()).clamp_min(1e-12))


def _expression_section(net: EvalNetwork, spec: EvalSpec, sets: dict[str, Crops],
                        figures: dict[str, Any], out: Path) -> str:
    assert spec.direction is not None
    direction = read_direction(spec.direction)
    if direction.latent != net.latent:
        raise ParameterError(f"the direction has {direction.latent} values, the model's "
                             f"latent {net.latent}", path=spec.direction)
    match = direction.encoder == net.fingerprint()
    strengths = sorted(spec.strengths)
    lo, hi = strengths[0], strengths[-1]
    groups = _group_difference(direction, net.resolution)
    figures.update({"file": str(spec.direction), "name": direction.name,
                    "counts": list(direction.counts), "norm": float(direction.vector.norm()),
                    "encoder_matches": match, "strengths": strengths,
                    "sources": dict(direction.sources), "change_in_mask": {},
                    "agreement_with_groups": {} if groups is not None else None})
    parts = [f"<p>Direction <code>{html.escape(str(spec.direction))}</code> "
             f"('{html.escape(direction.name)}', |d| = {direction.vector.norm():.3f}, from "
             f"{direction.counts[0]} and {direction.counts[1]} images; computed with "
             f"{'this' if match else 'ANOTHER'} encoder). The render applies it with the "
             "parameters expression_direction and expression_strength.</p>"]
    for source, crops in sets.items():
        pick = crops.take(1)
        grid = Grid(f"expression_{source}", f"{source}: {pick.labels[0]}",
                    ["input", *(f"strength {s:g}" for s in strengths),
                     f"({hi:g}) - ({lo:g}), x10"],
                    note="Rows: the head that decodes (the render's identity). Caption: mean "
                         "|change| inside the face mask against strength 0; last column: the "
                         "difference between the extreme strengths, 10 times, around grey"
                         + ("; its caption: cosine similarity between that difference "
                            f"averaged over the set's {len(crops)} crops and the mean pixel "
                            "difference between the direction's two groups, inside the "
                            "average face mask (0: unrelated, 1: the same change)."
                            if groups is not None else "."))
        m = pick.masks[0]
        for ident in net.identities:
            edits = apply_direction(net, pick.images, direction, [*strengths, 0.0], ident)[:, 0]
            ref = edits[-1]
            change = [float(((e - ref).abs() * m).sum() / (3 * m.sum().clamp_min(1e-12)))
                      for e in edits[:-1]]
            figures["change_in_mask"][f"{source}->{ident}"] = change
            diff = edits[len(strengths) - 1] - edits[0]
            cap = ""
            if groups is not None:  # the mean edit over the whole set against the groups'
                both = apply_direction(net, crops.images, direction, [lo, hi], ident)
                cos = _cosine((both[1] - both[0]).mean(0), groups, crops.masks.mean(0))
                figures["agreement_with_groups"][f"{source}->{ident}"] = cos
                cap = f"cos {cos:.2f}"
            grid.rows.append((f"head {ident}", [Tile(pick.images[0]), *(
                Tile(e, f"{c:.4f}") for e, c in zip(edits[:-1], change, strict=True)),
                Tile((0.5 + 10.0 * diff).clamp(0.0, 1.0), cap)]))
        parts.append(write_grid(grid, out))
    return "".join(parts)


def evaluate(spec: EvalSpec) -> dict[str, Any]:
    """Compute every section the spec allows, write the report into ``spec.out``; returns
    the figures (what ``report.json`` holds)."""
    out = ensure_writable_dir(spec.out)
    net = load_network(spec.run, spec.device)
    started = datetime.datetime.now(datetime.timezone.utc)
    if not spec.data:
        raise DatasetError("no --data NAME=DATASET given: nothing to evaluate")
    sets: dict[str, Crops] = {}
    for name, path in spec.data:
        if name not in net.identities:
            raise ParameterError(f"--data {name}: the model has no identity {name!r}; it has "
                                 f"{', '.join(net.identities)} (an unseen person goes in "
                                 "--outside)")
        sets[name] = load_crops(path, net.resolution, name, spec.max_crops)
    log.info("evaluating %s on %s", spec.run, ", ".join(f"{n} ({len(c)} crops)"
                                                        for n, c in sets.items()))
    figures: dict[str, Any] = {"created": started.isoformat(timespec="seconds"),
                               "model": net.describe(), "notes": spec.notes}
    sections: list[tuple[str, str]] = []
    model_html = (f"<p>Model <code>{html.escape(str(spec.run))}</code>: identities "
                  f"{', '.join(net.identities)}; {net.resolution} px; latent {net.latent} "
                  f"({net.latent_bytes} bytes in float16); {net.checkpoint.images_seen} "
                  f"images seen; checkpoint <code>{html.escape(str(net.checkpoint.path))}"
                  "</code>.</p>")
    if spec.notes:
        model_html += "<ul class='notes'>" + "".join(
            f"<li>{html.escape(n)}</li>" for n in spec.notes) + "</ul>"
    sections.append(("Model and data", model_html))

    # 1. reconstruction and JPEG
    results = [reconstruct(net, crops, name, spec.jpeg_quality) for name, crops in sets.items()]
    figures["reconstruction"] = {r.identity: r.to_json() for r in results}
    figures["reconstruction_mean_over_identities"] = mean_over_identities(results)
    fits = sum(r.sizes["jpeg_latent_size"]["fits"] for r in results)
    total = sum(len(r.crops) for r in results)
    rec_html = (f"<p>Each crop through its own identity's head (the latent rounded to "
                f"float16), and through JPEG at the highest quality whose entropy-coded "
                f"payload fits the latent's {net.latent_bytes} bytes, and at quality "
                f"{spec.jpeg_quality}. JPEG headers (tables, ~650 bytes) are not counted, "
                f"as the network's weights are not; file sizes are in the last column. "
                f"{fits} of {total} crops fit the budget at some quality (the others use "
                f"quality 1).</p>")
    rec_html += _metrics_table(results, net)
    rec_html += "".join(write_grid(_reconstruction_grid(r, spec.examples), out)
                        for r in results)
    sections.append(("Reconstruction and JPEG baseline", rec_html))

    # 2. temporal stability
    if spec.render and spec.plates:
        temporal = temporal_stability(spec.render, spec.plates, spec.frames,
                                      spec.plate_colorspace, net.checkpoint.colorspace,
                                      spec.ocio_config)
        figures["temporal"] = temporal
        rows = [[f"{k} difference", temporal[k]["render"], temporal[k]["plate"],
                 temporal[k]["ratio"], temporal[k]["steps"]]
                for k in ("first", "second", "colour")]
        t_html = (f"<p>Render <code>{html.escape(spec.render)}</code> against plate "
                  f"<code>{html.escape(spec.plates)}</code>, frames {temporal['frames'][0]}-"
                  f"{temporal['frames'][-1]}, inside the render's face mask "
                  f"(faceswap.mask), values in {html.escape(net.checkpoint.colorspace)} "
                  "clipped to [0, 1].</p>")
        t_html += table(["", "render", "plate", "ratio render/plate", "frame steps"], rows,
                        "first: mean |I[t] - I[t-1]|; second: mean |I[t+1] - 2 I[t] + I[t-1]| "
                        "(cancels steady motion); colour: |change of the face's mean colour| "
                        "per step. A ratio near 1: the swap adds no flicker. first and second "
                        "also grow with texture and noise: a face smoother than the plate's "
                        "scores below 1 there without being steadier; colour does not.")
        t_html += _svg_plot(temporal)
    else:
        figures["temporal"] = None
        t_html = "<p>Not measured: give --render and --plates.</p>"
    sections.append(("Temporal stability", t_html))

    # 3. interpolation
    figures["interpolation"] = []
    lerp_html = _interpolation_section(net, list(sets.values()), True,
                                       figures["interpolation"], out)
    outside = [load_crops(p, net.resolution, n, spec.max_crops) for n, p in spec.outside]
    if outside:
        lerp_html += _interpolation_section(net, outside, False, figures["interpolation"], out)
    else:
        lerp_html += "<p>No out-of-sample person given (--outside NAME=CROPS).</p>"
    sections.append(("Latent interpolation (Figs. 15, 16)", lerp_html))

    # 4. nearest neighbours
    train_pairs = spec.train_data or run_training_data(Path(spec.run))
    nn_size = min(net.resolution, NN_RESOLUTION)
    training = {}
    for name, path in train_pairs:
        training[name] = load_crops(path, nn_size, name, None)
    figures["nearest_neighbours"] = []
    if training:
        nn_html = _neighbour_section(net, sets, training, spec.examples,
                                     figures["nearest_neighbours"], out)
    else:
        nn_html = ("<p>Not computed: no training data found (give --train-data "
                   "NAME=DATASET).</p>")
    sections.append(("Nearest training images (Fig. 14)", nn_html))

    # 5. expression direction
    if spec.direction:
        figures["expression"] = {}
        ex_html = _expression_section(net, spec, sets, figures["expression"], out)
    else:
        figures["expression"] = None
        ex_html = "<p>No direction given (--direction FILE from 'faceswap-vfx latent " \
                  "direction').</p>"
    sections.append(("Expression direction", ex_html))
    figures["seconds"] = (datetime.datetime.now(datetime.timezone.utc) - started).total_seconds()
    write_report(out, f"faceswap_vfx evaluation: {Path(spec.run).name}", sections, figures)
    return figures


def _svg_plot(temporal: dict[str, Any], width: int = 640, height: int = 180) -> str:
    """An inline SVG of the per-step first differences, render and plate."""
    steps = temporal["first"]["per_step"]
    values = [v for k in ("render", "plate") for v in steps[k] if v == v]
    if not values:
        return ""
    top = max(values) * 1.1 or 1.0
    n = max(len(steps["render"]), 2)

    def points(vals: list[float]) -> str:
        return " ".join(f"{40 + i * (width - 50) / (n - 1):.1f},"
                        f"{height - 20 - (v if v == v else 0) / top * (height - 30):.1f}"
                        for i, v in enumerate(vals))

    return (f"<svg width='{width}' height='{height}' style='background:#fff;border:1px solid "
            f"#ccc'><polyline fill='none' stroke='#c33' stroke-width='2' "
            f"points='{points(steps['render'])}'/><polyline fill='none' stroke='#36c' "
            f"stroke-width='2' points='{points(steps['plate'])}'/>"
            f"<text x='45' y='15' font-size='12' fill='#c33'>render</text>"
            f"<text x='100' y='15' font-size='12' fill='#36c'>plate</text>"
            f"<text x='2' y='{height - 22}' font-size='10'>0</text>"
            f"<text x='2' y='22' font-size='10'>{top:.3g}</text>"
            f"<text x='{width // 2 - 60}' y='{height - 4}' font-size='11'>frame step "
            f"(mean |I[t]-I[t-1]| in the face)</text></svg>")
