// Multi-band blend: the helpers every pass uses (image access from the top-left, pyramid
// level sizes, bilinear upsampling). Not a shader of its own: GLSL has no #include, so
// faceswap_vfx.nuke.shaders.kernel_source puts this file in place of a kernel's #include
// line, which stands after the kernel's fetch (pixelTop calls it).
// GLSL twin of mbb_common.blink: the lines between the 'shared' markers are the same in
// both files (Blink's float4 is vec4 here).

// --- shared: begin ---
// Clamp an integer to [lo, hi].
int clampi(int v, int lo, int hi) {
    return v < lo ? lo : (v > hi ? hi : v);
}

// Side of pyramid level `lv` of a side of `full` pixels: halved `lv` times, rounding up.
int levelSize(int full, int lv) {
    int s = full;
    for (int i = 0; i < lv; i++) {
        s = (s + 1) / 2;
    }
    return s;
}

// Levels of the blend, ceil(log2(max(2, min(w, h)))): core.blend.blend_levels.
int levelCount(int w, int h) {
    int m = w < h ? w : h;
    int n = 0;
    int s = 1;
    while (s < m) {
        s = s * 2;
        n = n + 1;
    }
    return n < 1 ? 1 : n;
}

// Row y counted from the bottom (Nuke, GL) <-> from the top (core) in an image h rows high.
int flipRow(int y, int h) {
    return h - 1 - y;
}

// Pixel (col, row) from the top-left of image `img`, a w x h level, edges replicated.
vec4 pixelTop(int img, int col, int row, int w, int h) {
    return fetch(img, clampi(col, 0, w - 1), flipRow(clampi(row, 0, h - 1), h));
}

// Bilinear source coordinate of pixel d when a side of inSize pixels is resized to
// outSize (torch: align_corners=False, clamped at 0).
float sourceCoord(int d, int inSize, int outSize) {
    float s = (float(d) + 0.5f) * (float(inSize) / float(outSize)) - 0.5f;
    return s < 0.0f ? 0.0f : s;
}

// Image `img`, a level of inW x inH, upsampled to outW x outH at (col, row) from the
// top-left: core.pyramid.pyr_up.
vec4 upsampled(int img, int col, int row, int inW, int inH, int outW, int outH) {
    float sx = sourceCoord(col, inW, outW);
    float sy = sourceCoord(row, inH, outH);
    int x0 = int(sx);
    int y0 = int(sy);
    int x1 = x0 < inW - 1 ? x0 + 1 : x0;
    int y1 = y0 < inH - 1 ? y0 + 1 : y0;
    float fx = sx - float(x0);
    float fy = sy - float(y0);
    vec4 upper = pixelTop(img, x0, y0, inW, inH) * (1.0f - fx)
        + pixelTop(img, x1, y0, inW, inH) * fx;
    vec4 lower = pixelTop(img, x0, y1, inW, inH) * (1.0f - fx)
        + pixelTop(img, x1, y1, inW, inH) * fx;
    return upper * (1.0f - fy) + lower * fy;
}
// --- shared: end ---
