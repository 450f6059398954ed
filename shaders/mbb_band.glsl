#version 330 core
// Multi-band blend, pass 4 of 5: one blended Laplacian band (core.blend.multiband_blend).
// GLSL twin of mbb_band.blink: the lines between the 'shared' markers are the same in
// both files (Blink's float4 is vec4 here). The #include line stands for the helpers of
// every pass, mbb_common.glsl: load this file with faceswap_vfx.nuke.shaders.kernel_source.
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

#include "mbb_common.glsl"

// --- shared: begin ---
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
