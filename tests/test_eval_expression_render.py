"""The expression edit as a render parameter: strength 0 is the plain render, a strength
moves the generated face along the direction, runs and exports alike, named errors."""

from __future__ import annotations

import copy
import json
import logging
import warnings

import numpy as np
import pytest
import torch
from eval_fixtures import smooth_images, tiny_network, tiny_run

from faceswap_vfx import params as schema
from faceswap_vfx.core.geometry import apply, crop_from_template
from faceswap_vfx.core.template import TEMPLATE_68
from faceswap_vfx.demo import SHIPPED_MODEL
from faceswap_vfx.errors import ModelFileError, ParameterError
from faceswap_vfx.eval.latent import expression_direction, save_direction
from faceswap_vfx.eval.network import load_network
from faceswap_vfx.eval.synthetic import jitter
from faceswap_vfx.io.image import Image
from faceswap_vfx.model.direction import LatentDirection
from faceswap_vfx.model.export import export_torchscript, sidecar
from faceswap_vfx.render.frame import MASK_CHANNEL, Face, swap_frame
from faceswap_vfx.render.model_source import load_swap_model
from faceswap_vfx.samples import portraits
from faceswap_vfx.train.config import AugmentConfig
from faceswap_vfx.train.dataset import resize_square

torch.set_num_threads(1)


def test_the_schema_declares_the_expression_parameters():
    s, d = schema.PARAMS["expression_strength"], schema.PARAMS["expression_direction"]
    assert (s.kind, s.default, s.minimum, s.maximum, s.group) == ("float", 0.0, -3.0, 3.0,
                                                                  "expression")
    assert (d.kind, d.default, d.group) == ("file", "", "expression")
    with pytest.raises(ParameterError, match="above the maximum"):
        schema.validate("expression_strength", 3.5)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny run, its bob export, and a direction file for it."""
    folder = tmp_path_factory.mktemp("expr")
    run = tiny_run(folder / "run")
    net = load_network(run)
    d = expression_direction(net, smooth_images(3, 16, 1), smooth_images(3, 16, 2), "test")
    d = LatentDirection(d.vector / d.vector.norm() * 3.0, d.name, d.encoder, 16, d.counts)
    path = save_direction(d, folder / "test.direction.json")
    model = tiny_network()
    pt = folder / "bob.pt"
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r"`torch\.jit\.save` is deprecated", DeprecationWarning)
        torch.jit.save(export_torchscript(model, "bob"), str(pt))
    pt.with_suffix(".json").write_text(json.dumps(sidecar(model, "bob", model.level, "srgb_tx")))
    return run, pt, path, d


def frame_and_face() -> tuple[Image, Face]:
    """A small scene-linear frame and a face whose 16 px crop covers 96 px of it."""
    yy, xx = np.mgrid[0:128, 0:160].astype(np.float32)
    rgb = np.stack([0.2 + 0.5 * xx / 160, 0.3 + 0.3 * yy / 128, 0.25 + 0.1 * np.sin(xx / 5)], -1)
    plate_from_crop = np.array([[6.0, 0, 32], [0, 6.0, 16], [0, 0, 1]])
    landmarks = apply(plate_from_crop @ crop_from_template(16, 0.35), TEMPLATE_68)
    return Image.from_array(rgb.astype(np.float16)), Face(landmarks, plate_from_crop, 16)


def render(generate) -> Image:
    image, face = frame_and_face()
    swap_frame(image, [face], generate, schema.resolve({"plate_colorspace": "lin_rec709"}))
    return image


@pytest.mark.parametrize("kind", ["run", "export"])
def test_strength_zero_is_the_plain_render_and_a_strength_moves_the_latent(tiny, kind):
    run, pt, path, d = tiny
    model = run if kind == "run" else pt
    plain = load_swap_model(model, "bob")
    zero = load_swap_model(model, "bob", expression_direction=path, expression_strength=0.0)
    moved = load_swap_model(model, "bob", expression_direction=path, expression_strength=1.5)
    a, b, c = render(plain.generate), render(zero.generate), render(moved.generate)
    for name in ("R", "G", "B", MASK_CHANNEL):
        assert np.array_equal(a.part.channels[name], b.part.channels[name]), name
    inside = a.part.channels[MASK_CHANNEL] > 0.9
    outside = a.part.channels[MASK_CHANNEL] == 0
    assert inside.sum() > 500 and outside.sum() > 5000
    diff = np.abs(c.part.channels["G"].astype(np.float32) - a.part.channels["G"])
    assert diff[inside].mean() > 1e-3 and diff[outside].max() == 0
    x = smooth_images(2, 16, 9)
    net = tiny_network()
    with torch.no_grad():
        want = net.decode(net.encode(x) + 1.5 * d.vector.view(1, -1, 1, 1), "bob")
    torch.testing.assert_close(moved.generate(x), want)


def test_expression_errors_are_named(tiny, tmp_path, caplog):
    run, _, path, _ = tiny
    with pytest.raises(ParameterError, match="no expression_direction"):
        load_swap_model(run, "bob", expression_strength=1.0)
    with pytest.raises(ModelFileError, match="not found"):
        load_swap_model(run, "bob", expression_direction=tmp_path / "nope.json",
                        expression_strength=1.0)
    short = save_direction(LatentDirection(torch.ones(5)), tmp_path / "short.json")
    with pytest.raises(ModelFileError, match="5 latent values") as err:
        load_swap_model(run, "bob", expression_direction=short, expression_strength=1.0)
    assert str(short) in str(err.value)
    other = save_direction(LatentDirection(torch.ones(16), encoder="0" * 64), tmp_path / "o.json")
    with caplog.at_level(logging.WARNING):
        load_swap_model(run, "bob", expression_direction=other, expression_strength=1.0)
    assert "another encoder" in caplog.text


def test_a_trained_model_moves_the_face_in_the_directions_sense():
    """The shipped demo model learnt mirrored faces (its augmentation flips): a direction
    from jittered crops to the same crops mirrored, applied to other crops, moves the
    generated faces towards those crops' own mirrored faces (strength 1) and away (-1)."""
    head = np.ascontiguousarray(portraits.astronaut()[40:296, 100:356])
    crop = resize_square(torch.from_numpy(head).permute(2, 0, 1)[None], 64)[0]
    lms = np.zeros((68, 2))
    cfg = AugmentConfig(flip=0.0)
    group, _ = jitter(crop, lms, 6, cfg, seed=1)
    others, _ = jitter(crop, lms, 3, cfg, seed=2)
    net = load_network(SHIPPED_MODEL)
    d = expression_direction(net, group, group.flip(-1), "mirror")
    z = net.encode(others)
    target = net.decode(net.encode(others.flip(-1)), "grace_hopper")

    def dist(s: float) -> float:
        out = net.decode(z + d.offset(s, z), "grace_hopper")
        return float((out - target).abs().mean())

    assert dist(1.0) < 0.8 * dist(0.0) < 0.8 * dist(-1.0)
    change = (net.decode(z + d.offset(1, z), "grace_hopper")
              - net.decode(z - d.offset(1, z), "grace_hopper")).flatten()
    wanted = (target - net.decode(z, "grace_hopper")).flatten()
    assert float(change @ wanted / (change.norm() * wanted.norm())) > 0.5


def test_the_shipped_render_path_uses_the_same_edit(tmp_path):
    """load_swap_model on the shipped run equals the evaluation's own edit."""
    net = load_network(SHIPPED_MODEL)
    x = smooth_images(2, 64, 4)
    d = expression_direction(net, x[:1], x[1:], "x")
    path = save_direction(d, tmp_path / "x.json")
    sm = load_swap_model(SHIPPED_MODEL, "astronaut", expression_direction=path,
                         expression_strength=-2.0)
    want = net.decode(net.encode(x) + d.offset(-2.0, x), "astronaut")
    torch.testing.assert_close(sm.generate(copy.deepcopy(x)), want)
