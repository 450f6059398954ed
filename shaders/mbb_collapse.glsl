#version 330 core
// Multi-band blend, pass 5 of 5: rebuild one level from its band (core.pyramid.collapse).
// GLSL twin of mbb_collapse.blink: the lines between the 'shared' markers are the same in
// both files (Blink's float4 is vec4 here). The #include line stands for the helpers of
// every pass, mbb_common.glsl: load this file with faceswap_vfx.nuke.shaders.kernel_source.
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

#include "mbb_common.glsl"

// --- shared: begin ---
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
