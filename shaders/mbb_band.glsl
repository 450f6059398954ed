#version 330 core
// Multi-band blend, pass 4 of 5: one blended Laplacian band (core.blend.multiband_blend).
// GLSL twin of mbb_band.blink: the lines between the 'shared' markers are the same in
// both files (Blink's float4 is vec4 here).
// Images are full-size canvases with the origin at the bottom-left (Nuke and GL); level L
// lives in the bottom-left ceil(W / 2^L) x ceil(H / 2^L) pixels of its canvas.

uniform sampler2D face;  // Gaussian level `level` of the face (source)
uniform sampler2D faceNext;  // Gaussian level `level` + 1 of the face
uniform sampler2D plate;  // Gaussian level `level` of the plate (target)
uniform sampler2D plateNext;  // Gaussian level `level` + 1 of the plate
uniform sampler2D mask;  // the blurred mask of level `level`
uniform int level;  // the level written
uniform ivec2 fullSize;  // width, height of level 0
uniform int plateLevels;  // coarsest levels kept from the plate
out vec4 fragColor;

// Pixel (x, y) of input image `img` (storage coordinates, origin bottom-left).
vec4 fetch(int img, int x, int y) {
    if (img == 0) {
        return texelFetch(face, ivec2(x, y), 0);
    }
    if (img == 1) {
        return texelFetch(faceNext, ivec2(x, y), 0);
    }
    if (img == 2) {
        return texelFetch(plate, ivec2(x, y), 0);
    }
    if (img == 3) {
        return texelFetch(plateNext, ivec2(x, y), 0);
    }
    return texelFetch(mask, ivec2(x, y), 0);
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

// Band `level`: face and plate Laplacian bands (Gaussian level minus the next level
// upsampled; the coarsest level is the Gaussian residual); the plate's band for the
// coarsest plateLevels levels, else plate + mask * (face - plate).
vec4 shade(int x, int y) {
    int n = levelCount(fullSize.x, fullSize.y);
    int w = levelSize(fullSize.x, level);
    int h = levelSize(fullSize.y, level);
    if (level >= n || x >= w || y >= h) {
        return vec4(0.0f);
    }
    int row = flipRow(y, h);
    vec4 s = pixelTop(0, x, row, w, h);
    vec4 t = pixelTop(2, x, row, w, h);
    if (level < n - 1) {
        int nw = levelSize(fullSize.x, level + 1);
        int nh = levelSize(fullSize.y, level + 1);
        s = s - upsampled(1, x, row, nw, nh, w, h);
        t = t - upsampled(3, x, row, nw, nh, w, h);
    }
    if (n - level <= plateLevels) {
        return t;
    }
    float m = pixelTop(4, x, row, w, h).x;
    return t + (s - t) * m;
}
// --- shared: end ---

void main() {
    fragColor = shade(int(gl_FragCoord.x), int(gl_FragCoord.y));
}
