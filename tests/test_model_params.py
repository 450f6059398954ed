"""Parameter counts at width 1.0 against Table 1, and the comb network's config."""

from __future__ import annotations

import json

import pytest
import torch

from faceswap_vfx.errors import ParameterError
from faceswap_vfx.model import table1
from faceswap_vfx.model.comb import CombNetwork
from faceswap_vfx.model.config import CombConfig


def conv(k: int, c_in: int, c_out: int) -> int:
    return k * k * c_in * c_out + c_out


# Table 1 read level by level (level 6 with 64 channels: see faceswap_vfx.model.table1).
ENCODER = {8: conv(3, 16, 16) + conv(3, 16, 32), 7: conv(3, 32, 32) + conv(3, 32, 64),
           6: conv(3, 64, 64) + conv(3, 64, 128), 5: conv(3, 128, 128) + conv(3, 128, 256),
           4: conv(3, 256, 256) + conv(3, 256, 512), 3: 2 * conv(3, 512, 512),
           2: 2 * conv(3, 512, 512), 1: 2 * conv(3, 512, 512),
           0: conv(3, 512, 512) + conv(4, 512, 512)}
DECODER = {0: conv(4, 512, 512) + conv(3, 512, 512), 1: 2 * conv(3, 512, 512),
           2: 2 * conv(3, 512, 512), 3: 2 * conv(3, 512, 512),
           4: conv(3, 512, 256) + conv(3, 256, 256), 5: conv(3, 256, 128) + conv(3, 128, 128),
           6: conv(3, 128, 64) + conv(3, 64, 64), 7: conv(3, 64, 32) + conv(3, 32, 32),
           8: conv(3, 32, 16) + conv(3, 16, 16)}


def numel(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.fixture(scope="module")
def full() -> CombNetwork:
    """The 1024 px network at width 1.0, on the meta device (no memory, no init time)."""
    return CombNetwork(CombConfig(), ["a", "b"], level=8, device="meta")


def test_per_level_counts_match_table1_shapes(full: CombNetwork) -> None:
    for level in range(9):
        assert numel(full.encoder.blocks[str(level)]) == ENCODER[level], level
        assert numel(full.part(level, "a").blocks[str(level)]) == DECODER[level], level
    assert numel(full.encoder.from_rgb["8"]) == conv(1, 3, 16) == 64
    assert numel(full.heads["a"].to_rgb["8"]) == conv(1, 16, 3) == 51


def test_totals_are_23_1m_per_side(full: CombNetwork) -> None:
    encoder = sum(ENCODER.values()) + 64
    decoder = sum(DECODER.values()) + 51
    assert (encoder, decoder) == (23_072_016, 23_071_507)
    assert table1.printed_matches(encoder, table1.ENCODER_TOTAL)
    assert table1.printed_matches(decoder, table1.DECODER_TOTAL)
    # the built network also keeps level 7's from/to-RGB (for the fade) and two heads
    shared = sum(DECODER[lv] for lv in (0, 1))
    extra = conv(1, 3, 32) + 2 * conv(1, 32, 3)
    assert numel(full) == encoder + shared + 2 * (decoder - shared) + extra


def _built_convs(model: CombNetwork) -> tuple[list, list]:
    enc = [model.encoder.from_rgb["8"].conv]
    for level in range(8, -1, -1):
        enc += [model.encoder.blocks[str(level)].conv1, model.encoder.blocks[str(level)].conv2]
    dec = []
    for level in range(9):
        block = model.part(level, "a").blocks[str(level)]
        dec += [block.conv1, block.conv2]
    return enc, dec + [model.heads["a"].to_rgb["8"].conv]


def test_every_conv_prints_as_table1(full: CombNetwork) -> None:
    enc, dec = _built_convs(full)
    for convs, rows in ((enc, table1.ENCODER), (dec, table1.DECODER)):
        for layer, (level, kernel, _, text) in zip(convs, rows, strict=True):
            assert layer.kernel_size == (kernel, kernel), level
            assert table1.printed_matches(numel(layer), text), (level, numel(layer), text)


def test_table1_printed_shapes_disagree_only_at_encoder_level_6() -> None:
    """Counting from the printed shapes contradicts the printed params at one place only."""
    bad = []
    for name, rows, c_in in (("enc", table1.ENCODER, 3), ("dec", table1.DECODER, 512)):
        for i, (level, kernel, c_out, text) in enumerate(rows):
            if not table1.printed_matches(conv(kernel, c_in, c_out), text):
                bad.append((name, i, level))
            c_in = c_out
    assert bad == [("enc", 5, 6), ("enc", 6, 6)]


def test_printed_parsing() -> None:
    assert table1.parse_printed("2.3k") == (2300.0, 50.0)
    assert table1.parse_printed("4.M") == (4e6, 5e5)
    assert table1.printed_matches(2_359_808, "2.4M")
    assert not table1.printed_matches(2_359_808, "2.3M")


# --- config ---------------------------------------------------------------------------------
def test_config_json_round_trip_and_unknown_keys() -> None:
    cfg = CombConfig(max_resolution=64, width=1 / 16, latent=32, split_level=2)
    assert CombConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(ParameterError, match="unknown key"):
        CombConfig.from_dict({**cfg.to_dict(), "depth": 3})


@pytest.mark.parametrize("bad", [
    {"max_resolution": 48}, {"max_resolution": 2048}, {"max_resolution": 2},
    {"width": 0.0}, {"width": float("nan")}, {"latent": 0}, {"latent": True},
    {"split_level": 8}, {"split_level": -2}, {"max_resolution": 8, "split_level": 1},
    {"min_channels": 0},
])
def test_config_rejects(bad: dict) -> None:
    with pytest.raises(ParameterError):
        CombConfig(**bad)


def test_channels_scale_with_width_and_floor() -> None:
    assert [CombConfig().channels(lv) for lv in range(9)] == [512] * 4 + [256, 128, 64, 32, 16]
    small = CombConfig(width=1 / 32, min_channels=4)
    assert [small.channels(lv) for lv in range(9)] == [16] * 4 + [8, 4, 4, 4, 4]
    assert CombConfig(max_resolution=256).max_level == 6
    with pytest.raises(ValueError):
        CombConfig(max_resolution=256).channels(7)
