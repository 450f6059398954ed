"""The only layer that touches files: image sequences, EXR, OCIO colour, atomic writes."""
