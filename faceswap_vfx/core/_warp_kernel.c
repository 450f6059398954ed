/* Keys cubic convolution (a = -0.5) sampling of an affine warp: float32, CPU.
 *
 * The compiled counterpart of the torch bicubic path of faceswap_vfx.core.warp (about 5x
 * faster on one core). Output pixel (i, j) reads the source at
 *     x = m[0] (j + 0.5) + m[1] (i + 0.5) + m[2],  y = m[3] (j + 0.5) + m[4] (i + 0.5) + m[5]
 * (pixel-centre coordinates) and weights the 4 x 4 pixels around it with Keys' kernel:
 * each row along x, then the rows along y.
 *
 * The source comes packed: (height + 2 PAD) x (width + 2 PAD) pixels of 4 floats (up to 4
 * channels, the rest zero), PAD pixels of padding on every side holding what lies outside
 * the image (zeros or the edge pixels), so every tap is one 4-float vector multiply-add
 * (GCC vector extension: SSE on x86-64, NEON on arm64) and no tap needs a bounds test.
 */

typedef float v4f __attribute__((vector_size(16)));

#define PAD 4 /* also in warp_kernel.py */

/* floor without a libm call (x86-64 before SSE4.1 has no rounding instruction); NaN -> 0,
 * huge values unchanged: the caller clamps the result */
static inline double floor_fast(double v) {
    if (!(v > -4.0e15 && v < 4.0e15)) return v != v ? 0.0 : v;
    double t = (double)(long long)v;
    return t > v ? t - 1.0 : t;
}

static inline v4f keys_weights(float t) {
    float t2 = t * t, t3 = t2 * t;
    return (v4f){-0.5f * t3 + t2 - 0.5f * t, 1.5f * t3 - 2.5f * t2 + 1.0f,
                 -1.5f * t3 + 2.0f * t2 + 0.5f * t, 0.5f * t3 - 0.5f * t2};
}

/* index into the padded grid of the first of the taps floor - 1 .. floor + 2. A point
 * whose taps all lie outside the image (floor < -2 or > size) is moved to floor -3 or
 * size + 1: its taps still read padding only, which is what every tap out there reads
 * (Keys' weights sum to 1), and they stay inside the grid. */
static inline long first_tap(double f, long size) {
    double hi = (double)size + 1.0;
    long k = (long)(f < -3.0 ? -3.0 : (f > hi ? hi : f));
    return k - 1 + PAD;
}

/* Rows [row0, row1) of the warp into dst: channels planes of out_h x out_w floats
 * (contiguous). grid: the packed source of height x width pixels (see above). m: the
 * 2 x 3 src_from_dst matrix, row-major. Callers may split the rows over threads. */
void fsv_warp_keys(const v4f *grid, long height, long width, const double *m,
                   float *dst, long channels, long out_h, long out_w, long row0, long row1) {
    long pitch = width + 2 * PAD;
    long plane = out_h * out_w;
    for (long i = row0; i < row1; ++i) {
        double yi = (double)i + 0.5;
        double u0 = m[1] * yi + m[2] - 0.5, v0 = m[4] * yi + m[5] - 0.5;
        float *out_row = dst + i * out_w;
        for (long j = 0; j < out_w; ++j) {
            double xj = (double)j + 0.5;
            double u = m[0] * xj + u0, v = m[3] * xj + v0;
            double fu = floor_fast(u), fv = floor_fast(v);
            v4f wu = keys_weights((float)(u - fu)), wv = keys_weights((float)(v - fv));
            const v4f *p = grid + first_tap(fv, height) * pitch + first_tap(fu, width);
            v4f r[4];
            for (int a = 0; a < 4; ++a, p += pitch)  /* pairwise sums: short chains */
                r[a] = (wu[0] * p[0] + wu[1] * p[1]) + (wu[2] * p[2] + wu[3] * p[3]);
            v4f acc = (wv[0] * r[0] + wv[1] * r[1]) + (wv[2] * r[2] + wv[3] * r[3]);
            for (long k = 0; k < channels; ++k) out_row[k * plane + j] = acc[k];
        }
    }
}

/* Rows [row0, row1) of the coverage of the same warp of a height x width source sampled
 * bilinearly with zeros outside: 1 where the in-image weights of the 2 x 2 taps multiply
 * to more than 0.999, else 0 (what warping an image of ones and thresholding it gives,
 * without the image). dst: out_w floats a row. */
static inline double inside_weight(double f, double t, long size) {
    double w = 0.0;
    if (f >= 0.0 && f < (double)size) w += 1.0 - t;
    if (f + 1.0 >= 0.0 && f + 1.0 < (double)size) w += t;
    return w;
}

void fsv_warp_cover(long height, long width, const double *m, float *dst, long out_w,
                    long row0, long row1) {
    for (long i = row0; i < row1; ++i) {
        double yi = (double)i + 0.5;
        double u0 = m[1] * yi + m[2] - 0.5, v0 = m[4] * yi + m[5] - 0.5;
        for (long j = 0; j < out_w; ++j) {
            double xj = (double)j + 0.5;
            double u = m[0] * xj + u0, v = m[3] * xj + v0;
            double fu = floor_fast(u), fv = floor_fast(v);
            double weight = inside_weight(fu, u - fu, width) * inside_weight(fv, v - fv, height);
            dst[i * out_w + j] = weight > 0.999 ? 1.0f : 0.0f;
        }
    }
}

/* Checked by the ctypes binding (faceswap_vfx/core/warp_kernel.py) before use. */
int warp_abi_version(void) { return 2; }
