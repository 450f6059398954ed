#version 330 core
// Multi-band blend, pass 5 of 5: rebuild one level from its band (core.pyramid.collapse).
// GLSL twin of mbb_collapse.blink: the lines between the 'shared' markers are the same in
// both files (Blink's float4 is vec4 here).
// Images are full-size canvases with the origin at the bottom-left (Nuke and GL); level L
// lives in the bottom-left ceil(W / 2^L) x ceil(H / 2^L) pixels of its canvas.

uniform sampler2D band;  // the blended band of level `level`
uniform sampler2D coarser;  // the collapsed level `level` + 1
uniform int level;  // the level written
uniform ivec2 fullSize;  // width, height of level 0
out vec4 fragColor;

// Pixel (x, y) of input image `img` (storage coordinates, origin bottom-left).
vec4 fetch(int img, int x, int y) {
    if (img == 0) {
        return texelFetch(band, ivec2(x, y), 0);
    }
    return texelFetch(coarser, ivec2(x, y), 0);
}

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

// Level `level` rebuilt: its band plus the coarser level upsampled (the coarsest level is
// its band). Level 0 is the blend.
vec4 shade(int x, int y) {
    int n = levelCount(fullSize.x, fullSize.y);
    int w = levelSize(fullSize.x, level);
    int h = levelSize(fullSize.y, level);
    if (level >= n || x >= w || y >= h) {
        return vec4(0.0f);
    }
    int row = flipRow(y, h);
    vec4 image = pixelTop(0, x, row, w, h);
    if (level < n - 1) {
        int nw = levelSize(fullSize.x, level + 1);
        int nh = levelSize(fullSize.y, level + 1);
        image = image + upsampled(1, x, row, nw, nh, w, h);
    }
    return image;
}
// --- shared: end ---

void main() {
    fragColor = shade(int(gl_FragCoord.x), int(gl_FragCoord.y));
}
