#version 330 core
// Multi-band blend, pass 3 of 5: one axis of the level mask's blur (core.filters).
// GLSL twin of mbb_blur.blink: the lines between the 'shared' markers are the same in
// both files (Blink's float4 is vec4 here). The #include line stands for the helpers of
// every pass, mbb_common.glsl: load this file with faceswap_vfx.nuke.shaders.kernel_source.
// Images are full-size canvases with the origin at the bottom-left (Nuke and GL); level L
// lives in the bottom-left ceil(W / 2^L) x ceil(H / 2^L) pixels of its canvas.

uniform sampler2D src;  // the level mask (axis 0), its row blur (axis 1)
uniform int level;  // the level written
uniform ivec2 fullSize;  // width, height of level 0
uniform float maskSigma;  // Gaussian sigma in this level's pixels
uniform int axis;  // 0: along rows, 1: along columns, then clamp to [0, 1]
out vec4 fragColor;

// Pixel (x, y) of input image `img` (storage coordinates, origin bottom-left).
vec4 fetch(int img, int x, int y) {
    return texelFetch(src, ivec2(x, y), 0);
}

#include "mbb_common.glsl"

// --- shared: begin ---
// Clamp to [0, 1] (NaN stays NaN, as torch.clamp).
float unit(float v) {
    return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
}

// Gaussian taps exp(-t^2 / (2 sigma^2)), before normalising.
float gauss(int t, float sigma) {
    float u = float(t) / sigma;
    return exp(-0.5f * (u * u));
}

// One axis of the blur: sigma maskSigma, radius ceil(3 sigma) (at least 1), normalised
// taps, edges replicated; sigma <= 0 copies. Axis 1 (the second pass) clamps to [0, 1].
vec4 shade(int x, int y) {
    int w = levelSize(fullSize.x, level);
    int h = levelSize(fullSize.y, level);
    if (level >= levelCount(fullSize.x, fullSize.y) || x >= w || y >= h) {
        return vec4(0.0f);
    }
    int row = flipRow(y, h);
    vec4 acc = pixelTop(0, x, row, w, h);
    if (maskSigma > 0.0f) {
        int r = int(ceil(3.0f * maskSigma));
        r = r < 1 ? 1 : r;
        float total = 0.0f;
        for (int t = -r; t <= r; t++) {
            total += gauss(t, maskSigma);
        }
        acc = vec4(0.0f);
        for (int t = -r; t <= r; t++) {
            float k = gauss(t, maskSigma) / total;
            acc += pixelTop(0, x + t * (1 - axis), row + t * axis, w, h) * k;
        }
    }
    if (axis == 1) {
        acc = vec4(unit(acc.x), unit(acc.y), unit(acc.z), unit(acc.w));
    }
    return acc;
}
// --- shared: end ---

void main() {
    fragColor = shade(int(gl_FragCoord.x), int(gl_FragCoord.y));
}
