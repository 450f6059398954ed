"""Write a sample scene-linear EXR plate, then read a frame back and inspect it.

    python examples/inspect_plate.py [OUT_DIR]
"""

import sys
import tempfile
from pathlib import Path

from faceswap_vfx.io.image import read_image
from faceswap_vfx.io.info import describe_sequence, format_description
from faceswap_vfx.io.sequence import ImageSequence
from faceswap_vfx.samples.exr_plate import write_sample_plate

out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="faceswap_"))
pattern = write_sample_plate(out, list(range(1001, 1005)), (144, 256))
print(format_description(describe_sequence(pattern)))

seq = ImageSequence.find(pattern)
part = read_image(seq.path(seq.frames[0]), seq.frames[0]).part
rgb = part.display_rgb()  # float32 (H, W, 3), scene-linear, display window
print(f"frame {seq.frames[0]}: {rgb.shape[1]}x{rgb.shape[0]}, "
      f"linear RGB range {rgb.min():.3f}..{rgb.max():.3f}, Z {part.channels['Z'].dtype}")
assert rgb.shape == (144, 256, 3) and part.channels["Z"].dtype.name == "float32"
