#version 330 core
// Multi-band blend, pass 2 of 5: the mask at one level (core.blend.level_masks).
// GLSL twin of mbb_mask.blink: the lines between the 'shared' markers are the same in
// both files (Blink's float4 is vec4 here). The #include line stands for the helpers of
// every pass, mbb_common.glsl: load this file with faceswap_vfx.nuke.shaders.kernel_source.
// Images are full-size canvases with the origin at the bottom-left (Nuke and GL); level L
// lives in the bottom-left ceil(W / 2^L) x ceil(H / 2^L) pixels of its canvas.

uniform sampler2D mask;  // the full-resolution mask, in alpha
uniform int level;  // the level written
uniform ivec2 fullSize;  // width, height of level 0
out vec4 fragColor;

// Pixel (x, y) of input image `img` (storage coordinates, origin bottom-left).
vec4 fetch(int img, int x, int y) {
    return texelFetch(mask, ivec2(x, y), 0);
}

#include "mbb_common.glsl"

// --- shared: begin ---
// The mask at level `level`: the mean of the full-resolution alpha over the pixels each
// level pixel covers (the bins of torch's adaptive_avg_pool2d), in every channel.
vec4 shade(int x, int y) {
    int w = levelSize(fullSize.x, level);
    int h = levelSize(fullSize.y, level);
    if (level >= levelCount(fullSize.x, fullSize.y) || x >= w || y >= h) {
        return vec4(0.0f);
    }
    int row = flipRow(y, h);
    int x0 = (x * fullSize.x) / w;
    int x1 = ((x + 1) * fullSize.x + w - 1) / w;
    int y0 = (row * fullSize.y) / h;
    int y1 = ((row + 1) * fullSize.y + h - 1) / h;
    float acc = 0.0f;
    for (int j = y0; j < y1; j++) {
        for (int i = x0; i < x1; i++) {
            acc += pixelTop(0, i, j, fullSize.x, fullSize.y).w;
        }
    }
    return vec4(acc / float((x1 - x0) * (y1 - y0)));
}
// --- shared: end ---

void main() {
    fragColor = shade(int(gl_FragCoord.x), int(gl_FragCoord.y));
}
