#version 330 core
// Multi-band blend, pass 1 of 5: one level of a Gaussian pyramid (core.pyramid.pyr_down).
// GLSL twin of mbb_down.blink: the lines between the 'shared' markers are the same in
// both files (Blink's float4 is vec4 here). The #include line stands for the helpers of
// every pass, mbb_common.glsl: load this file with faceswap_vfx.nuke.shaders.kernel_source.
// Images are full-size canvases with the origin at the bottom-left (Nuke and GL); level L
// lives in the bottom-left ceil(W / 2^L) x ceil(H / 2^L) pixels of its canvas.

uniform sampler2D src;  // pyramid level `level` - 1 (0: the image)
uniform int level;  // the level written, >= 1
uniform ivec2 fullSize;  // width, height of level 0
out vec4 fragColor;

// Pixel (x, y) of input image `img` (storage coordinates, origin bottom-left).
vec4 fetch(int img, int x, int y) {
    return texelFetch(src, ivec2(x, y), 0);
}

#include "mbb_common.glsl"

// --- shared: begin ---
// Burt & Adelson's 5-tap binomial kernel, (1 4 6 4 1) / 16.
float tap(int i) {
    return (i == 0 || i == 4) ? 1.0f : (i == 2 ? 6.0f : 4.0f);
}

// Level `level` at storage pixel (x, y): the level above blurred (rows, then columns) and
// every second pixel kept from the top-left; sizes halve rounding up.
vec4 shade(int x, int y) {
    int w = levelSize(fullSize.x, level);
    int h = levelSize(fullSize.y, level);
    if (level < 1 || level >= levelCount(fullSize.x, fullSize.y) || x >= w || y >= h) {
        return vec4(0.0f);
    }
    int sw = levelSize(fullSize.x, level - 1);
    int sh = levelSize(fullSize.y, level - 1);
    int row = flipRow(y, h);
    vec4 acc = vec4(0.0f);
    for (int j = 0; j < 5; j++) {
        vec4 across = vec4(0.0f);
        for (int i = 0; i < 5; i++) {
            across += pixelTop(0, 2 * x + i - 2, 2 * row + j - 2, sw, sh) * (tap(i) / 16.0f);
        }
        acc += across * (tap(j) / 16.0f);
    }
    return acc;
}
// --- shared: end ---

void main() {
    fragColor = shade(int(gl_FragCoord.x), int(gl_FragCoord.y));
}
