"""Pure torch/numpy math: geometry, warps, pyramids, blend, masks. No file or UI imports."""
