"""Parameter counts of the comb network per level, next to Table 1 of Naruniec et al. 2020.

    python bench/model_params.py                 # width 1.0, 1024 px: compare with Table 1
    python bench/model_params.py --width 0.25 --max-resolution 256 --identities 3

The network is built on the ``meta`` device: no memory, no time. Table 1 columns are the
printed per-convolution counts summed per level (see ``faceswap_vfx.model.table1``).
"""

from __future__ import annotations

import argparse

import torch
from torch import nn

from faceswap_vfx.model import table1
from faceswap_vfx.model.comb import CombNetwork
from faceswap_vfx.model.config import CombConfig
from faceswap_vfx.model.layers import conv_params


def numel(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def table_convs(model: CombNetwork) -> tuple[list[nn.Module], list[nn.Module]]:
    """The convolutions of a level-8 network in Table 1's row order (encoder, decoder)."""
    enc, head = model.encoder, model.identities[0]
    encoder = [enc.from_rgb["8"].conv]
    for level in range(8, -1, -1):
        encoder += [enc.blocks[str(level)].conv1, enc.blocks[str(level)].conv2]
    decoder = []
    for level in range(9):
        block = model.part(level, head).blocks[str(level)]
        decoder += [block.conv1, block.conv2]
    decoder.append(model.part(8, head).to_rgb["8"].conv)
    return encoder, decoder


def compare_with_table1(model: CombNetwork) -> list[str]:
    """Rows where a built convolution's count would not print as Table 1's."""
    bad = []
    for side, convs, rows in zip(("encoder", "decoder"), table_convs(model),
                                 (table1.ENCODER, table1.DECODER), strict=True):
        for conv, (level, kernel, c_out, text) in zip(convs, rows, strict=True):
            if conv.kernel_size[0] != kernel or not table1.printed_matches(numel(conv), text):
                bad.append(f"{side} level {level} {kernel}x{kernel} -> {c_out}: built "
                           f"{conv.in_channels}->{conv.out_channels}, {numel(conv):,} vs {text}")
            elif conv.out_channels != c_out:
                bad.append(f"{side} level {level}: {conv.out_channels} channels out, printed "
                           f"{c_out} (params {numel(conv):,} match the printed {text})")
    return bad


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=float, default=1.0)
    ap.add_argument("--max-resolution", type=int, default=1024)
    ap.add_argument("--latent", type=int, default=512)
    ap.add_argument("--split-level", type=int, default=1)
    ap.add_argument("--identities", type=int, default=1)
    args = ap.parse_args()
    cfg = CombConfig(max_resolution=args.max_resolution, width=args.width, latent=args.latent,
                     split_level=args.split_level)
    names = [f"id{i}" for i in range(args.identities)]
    model = CombNetwork(cfg, names, level=cfg.max_level, device=torch.device("meta"))
    head = names[0]
    table = cfg.width == 1.0 and cfg.max_level == 8 and cfg.latent == 512
    print(f"{cfg}\n")
    print(f"{'lvl':>3} {'px':>5} {'ch':>4} {'encoder':>11} {'Table 1':>11} {'decoder':>11} "
          f"{'Table 1':>11}  {'part':<6} {'from-RGB':>8} {'to-RGB':>7}")
    for level in range(cfg.max_level, -1, -1):
        enc = numel(model.encoder.blocks[str(level)])
        dec = numel(model.part(level, head).blocks[str(level)])
        c = cfg.channels(level)
        t_enc = f"{table1.level_sum(table1.ENCODER, level, (table1.FROM_RGB_ROW,)):,.0f}"
        t_dec = f"{table1.level_sum(table1.DECODER, level, (table1.TO_RGB_ROW,)):,.0f}"
        part = "trunk" if cfg.is_shared(level) else "head"
        rgb = f"{conv_params(1, 3, c):>8,} {conv_params(1, c, 3):>7,}"
        print(f"{level:>3} {4 << level:>5} {c:>4} {enc:>11,} {t_enc if table else '':>11} "
              f"{dec:>11,} {t_dec if table else '':>11}  {part:<6} {rgb}")
    top = str(cfg.max_level)
    from_rgb, to_rgb = numel(model.encoder.from_rgb[top]), numel(model.heads[head].to_rgb[top])
    print(f"{'final from-RGB / to-RGB':>25} {from_rgb:>11,} {'64' if table else '':>11} "
          f"{to_rgb:>11,} {'51' if table else '':>11}")
    enc_total = sum(numel(b) for b in model.encoder.blocks.values()) + from_rgb
    dec_total = sum(numel(model.part(lv, head).blocks[str(lv)]) for lv in range(cfg.max_level + 1))
    dec_total += to_rgb
    print(f"{'total per side':>25} {enc_total:>11,} {table1.ENCODER_TOTAL if table else '':>11} "
          f"{dec_total:>11,} {table1.DECODER_TOTAL if table else '':>11}")
    shared = sum(numel(model.part(lv, head).blocks[str(lv)]) for lv in range(cfg.max_level + 1)
                 if cfg.is_shared(lv))
    final = enc_total + shared + len(names) * (dec_total - shared)
    print(f"\nencoder + trunk {enc_total + shared:,}; each head {dec_total - shared:,}; "
          f"{len(names)} identities: {final:,} with the final from/to-RGB only (the network "
          f"at level {cfg.max_level} also holds level {cfg.max_level - 1}'s: "
          f"{numel(model) - final:,} more)")
    if table:
        print(f"Table 1's 'Latent vector' row ({table1.ENCODER_LATENT_ROW}) names no layer: "
              "not built.")
        print("\nPer convolution against Table 1's printed params:")
        for line in compare_with_table1(model) or ["all match"]:
            print("  " + line)


if __name__ == "__main__":
    main()
