"""Align faces on a sample EXR plate, save the alignment file, extract a training dataset.

    python examples/align_and_extract.py [OUT_DIR]
"""

import sys
import tempfile
from pathlib import Path

import numpy as np

from faceswap_vfx.core.geometry import apply
from faceswap_vfx.face.align_file import load_alignment, save_alignment
from faceswap_vfx.face.extract import extract_dataset
from faceswap_vfx.face.pipeline import align_sequence
from faceswap_vfx.io.sequence import ImageSequence
from faceswap_vfx.samples.exr_plate import write_sample_plate

out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="faceswap_"))
pattern = write_sample_plate(out / "plate", list(range(1001, 1007)), (288, 512))

alignment = align_sequence(ImageSequence.find(pattern), {"crop_size": 128})
save_alignment(alignment, out / "shot.align.json")
alignment = load_alignment(out / "shot.align.json")
for frame in alignment.frames:
    face = alignment.faces[frame][0]
    centre = apply(face.plate_from_crop, np.array([[64.0, 64.0]]))[0]
    print(f"frame {frame}: track {face.track} {face.flag}, crop centre at "
          f"({centre[0]:.1f}, {centre[1]:.1f}) px")

manifest = extract_dataset(pattern, out / "dataset", "astronaut", 64, alignment=alignment)
print(f"dataset: {len(manifest['items'])} crops, {len(manifest['skipped'])} skipped, "
      f"contact sheet {out / 'dataset' / 'contact_sheet.png'}")
assert len(manifest["items"]) == len(alignment.frames)
