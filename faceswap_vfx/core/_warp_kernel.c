/* Keys cubic convolution (a = -0.5) sampling of an affine warp: float32, CPU.
 *
 * The compiled counterpart of the torch bicubic path of faceswap_vfx.core.warp (about 10x
 * faster on one core, ~25x with AVX). Output pixel (i, j) reads the source at
 *     x = m[0] (j + 0.5) + m[1] (i + 0.5) + m[2],  y = m[3] (j + 0.5) + m[4] (i + 0.5) + m[5]
 * (pixel-centre coordinates) and weights the 4 x 4 pixels around it with Keys' kernel:
 * each row along x, then the rows along y.
 *
 * The source comes packed: (height + 2 PAD) x (width + 2 PAD) pixels of 4 floats (up to 4
 * channels, the rest zero), PAD pixels of padding on every side holding what lies outside
 * the image (zeros or the edge pixels), so every tap is one 4-float vector multiply-add
 * (GCC vector extension: SSE on x86-64, NEON on arm64) and no tap needs a bounds test.
 * fsv_blur_pack makes that grid from a strided source, blurring it on the way when the
 * warp minifies (the antialias prefilter); fsv_blur writes the same blur as planes.
 */

#include <stdlib.h>
#include <string.h>

typedef float v4f __attribute__((vector_size(16)));

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h> /* its AVX intrinsics used only in target("avx") functions */
#define WARP_AVX 1
typedef float v8f __attribute__((vector_size(32), aligned(16), may_alias));
#endif

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

/* The source coordinate output pixel j of a row reads along one axis: m (j + 0.5) + c0,
 * c0 the row's part (m[1] yi + m[2] - 0.5 or m[4] yi + m[5] - 0.5). Every kernel below
 * computes it this way, so the row spans that follow agree with them to the bit: the
 * rounded value is monotone in j (each rounding is), and coord(-m, -c0, j) is exactly
 * -coord(m, c0, j) (round to nearest is symmetric). */
static inline double coord(double m, double c0, long j) {
    return m * ((double)j + 0.5) + c0;
}

static inline int past(double m, double c0, double t, int strict, long j) {
    double c = coord(m, c0, j);
    return strict ? c > t : c >= t;
}

/* The first j in [0, n] whose coordinate is past t (> t when strict, else >= t), for
 * m > 0 (the coordinate nondecreasing in j); n if none. A guess from the line, then moved
 * by the predicate itself: exact whatever the guess's rounding, a step or two for a sane
 * matrix (at worst it walks the row, as evaluating every pixel would). */
static long first_past(double m, double c0, double t, int strict, long n) {
    double g = (t - c0) / m - 0.5;
    long j = !(g > 0.0) ? 0 : (g >= (double)n ? n : (long)g);
    while (j > 0 && past(m, c0, t, strict, j - 1)) --j;
    while (j < n && !past(m, c0, t, strict, j)) ++j;
    return j;
}

/* The pixels j in [0, n) of a row whose coordinate lies between lo and hi (each bound
 * excluded when its *_open is set), as [*a, *b): one span, the coordinate being monotone.
 * Needs finite coordinates (see row_finite). */
static void span(double m, double c0, double lo, int lo_open, double hi, int hi_open,
                 long n, long *a, long *b) {
    if (m > 0.0) {
        *a = first_past(m, c0, lo, lo_open, n);
        *b = first_past(m, c0, hi, !hi_open, n);  /* the first j beyond hi */
    } else if (m < 0.0) {  /* the same along -coord, which grows with j */
        *a = first_past(-m, -c0, -hi, hi_open, n);
        *b = first_past(-m, -c0, -lo, !lo_open, n);
    } else {  /* the whole row reads one coordinate */
        double c = coord(m, c0, 0);
        int in = (lo_open ? c > lo : c >= lo) && (hi_open ? c < hi : c <= hi);
        *a = 0, *b = in ? n : 0;
    }
    if (*b < *a) *b = *a;
}

/* Whether every coordinate of a row is finite: then span applies. Its ends and c0 finite
 * suffice (the products grow with j, the sums lie between the ends). Rows of overflowing
 * matrices go pixel by pixel, their NaN included, as they always did. */
static inline int row_finite(const double *m, double u0, double v0, long n) {
    double c[6] = {u0, v0, coord(m[0], u0, 0), coord(m[0], u0, n - 1), coord(m[3], v0, 0),
                   coord(m[3], v0, n - 1)};
    for (int k = 0; k < 6; ++k)
        if (!(c[k] - c[k] == 0.0)) return 0;  /* inf - inf and NaN are NaN */
    return 1;
}

/* Output pixel (u, v) of the Keys warp: 4 x 4 taps of the padded grid */
static inline v4f keys_pixel(const v4f *grid, long pitch, long height, long width, double u,
                             double v) {
    double fu = floor_fast(u), fv = floor_fast(v);
    v4f wu = keys_weights((float)(u - fu)), wv = keys_weights((float)(v - fv));
    const v4f *p = grid + first_tap(fv, height) * pitch + first_tap(fu, width);
    v4f r[4];
    for (int a = 0; a < 4; ++a, p += pitch)  /* pairwise sums: short chains */
        r[a] = (wu[0] * p[0] + wu[1] * p[1]) + (wu[2] * p[2] + wu[3] * p[3]);
    return (wv[0] * r[0] + wv[1] * r[1]) + (wv[2] * r[2] + wv[3] * r[3]);
}

/* The instruction sets fsv_warp_keys can run (its isa argument; also in warp_kernel.py) */
enum { ISA_AUTO, ISA_BASELINE, ISA_AVX };

/* What ISA_AUTO runs here: ISA_AVX where the CPU (and OS) has AVX, else ISA_BASELINE. */
int fsv_warp_best_isa(void) {
#ifdef WARP_AVX
    if (__builtin_cpu_supports("avx")) return ISA_AVX;
#endif
    return ISA_BASELINE;
}

/* Every NaN the Keys warp writes is this one (torch's float("nan")): which NaN an
 * operation passes on where two meet (a NaN pixel's and that of an Inf times a weight 0,
 * say) follows the order the compiler gave its operands, which differs between the
 * baseline and the AVX code, so that only one NaN keeps their outputs the same bits. */
#define QNAN_BITS 0x7fc00000
typedef int v4i __attribute__((vector_size(16)));

static inline v4f canonical_nan(v4f x) {
    v4i nan = x != x;
    return (v4f)(((v4i)x & ~nan) | ((v4i){QNAN_BITS, QNAN_BITS, QNAN_BITS, QNAN_BITS} & nan));
}

/* Pixels [a, b) of one output row of the Keys warp, one pixel at a time: d[k plane + j]
 * channel k of pixel j. */
static void keys_span(const v4f *grid, long pitch, long height, long width, const double *m,
                      double u0, double v0, float *d, long plane, long channels, long a,
                      long b) {
    for (long j = a; j < b; ++j) {
        v4f acc = canonical_nan(keys_pixel(grid, pitch, height, width, coord(m[0], u0, j),
                                           coord(m[3], v0, j)));
        for (long k = 0; k < channels; ++k) d[k * plane + j] = acc[k];
    }
}

#ifdef WARP_AVX
/* keys_span with AVX (picked at run time, like correlate_v8), two output pixels a step:
 * each 8-float vector holds pixel j's 4 channels in its low half and pixel j + 1's in its
 * high half. Every lane does keys_pixel's operations on its pixel in keys_pixel's order
 * (no fused multiply-adds: the build contracts none and AVX has none), so every value has
 * the same bits, and NaN is canonical_nan's in both. About 2.7x faster than keys_span on
 * one core (the render's 256 -> 944 px warp). A row goes in chunks of SPAN_CHUNK pixels,
 * each in three passes, so that no step waits on a long chain of the one before (done
 * pixel by pixel, the chain coordinate -> floor -> offset -> loads -> sums leaves the
 * out-of-order core idle):
 *   1. per 4 pixels (4-double vectors of u, then of v): coordinates, floors, tap offsets
 *      and fractions, then the 4 Keys weights of all 8 fractions in 8-float vectors;
 *   2. per 2 pixels: the 4 x 4 taps of both (two 4-float loads a tap) and their sums;
 *   3. per 4 pixels: NaN made canonical, transposed from packed pixels into channel
 *      planes, 4 floats a store.
 * Calls nothing, so that the compiler clears the upper halves of the AVX registers
 * (vzeroupper) on its way back to SSE code: see correlate_v8. */
#define SPAN_CHUNK 64 /* pixels a chunk: a multiple of 4 */

/* floor_fast of 4 doubles: floor, -0 made +0 as floor_fast's truncation makes it (coord
 * never gives -0, but this keeps floor4 floor_fast for any input); general: NaN made 0 and
 * what lies beyond +-4e15 kept as is (not general: the caller knows there is none) */
__attribute__((target("avx"), always_inline)) static inline __m256d floor4(__m256d c,
                                                                           int general) {
    __m256d f = _mm256_add_pd(_mm256_floor_pd(c), _mm256_setzero_pd());
    if (!general) return f;
    __m256d in = _mm256_and_pd(_mm256_cmp_pd(c, _mm256_set1_pd(-4.0e15), _CMP_GT_OQ),
                               _mm256_cmp_pd(c, _mm256_set1_pd(4.0e15), _CMP_LT_OQ));
    __m256d kept = _mm256_and_pd(c, _mm256_cmp_pd(c, c, _CMP_EQ_OQ));  /* NaN: +0 */
    return _mm256_or_pd(_mm256_and_pd(in, f), _mm256_andnot_pd(in, kept));
}

/* What pass 1 keeps of 4 pixels */
typedef struct {
    int off[4];  /* grid offsets of the first taps, from base (see keys_span_avx) */
    v8f w[4];    /* Keys weight k of the u of pixels 0..3, then of their v */
} prep4_t;

/* Pass 1 for the 4 pixels whose x + 0.5 are xs: keys_pixel's floors, first_tap and
 * keys_weights lane by lane. */
__attribute__((target("avx"), always_inline)) static inline void prepare4(
    __m256d xs, const double *m, double u0, double v0, double pitch, double width,
    double height, int general, prep4_t *out) {
    __m256d u = _mm256_add_pd(_mm256_mul_pd(_mm256_set1_pd(m[0]), xs), _mm256_set1_pd(u0));
    __m256d v = _mm256_add_pd(_mm256_mul_pd(_mm256_set1_pd(m[3]), xs), _mm256_set1_pd(v0));
    __m256d fu = floor4(u, general), fv = floor4(v, general);
    __m128 tu = _mm256_cvtpd_ps(_mm256_sub_pd(u, fu)), tv = _mm256_cvtpd_ps(_mm256_sub_pd(v, fv));
    /* first_tap less its - 1 + PAD (in base): floors clamped to [-3, size + 1], exact
     * integers, so that the offset is too (|offset| < 2^31: see fsv_warp_keys) */
    __m256d low = _mm256_set1_pd(-3.0);
    __m256d ku = _mm256_min_pd(_mm256_max_pd(fu, low), _mm256_set1_pd(width + 1.0));
    __m256d kv = _mm256_min_pd(_mm256_max_pd(fv, low), _mm256_set1_pd(height + 1.0));
    __m256d offset = _mm256_add_pd(_mm256_mul_pd(kv, _mm256_set1_pd(pitch)), ku);
    _mm_storeu_si128((__m128i *)out->off, _mm256_cvttpd_epi32(offset));
    v8f t = (v8f)_mm256_insertf128_ps(_mm256_castps128_ps256(tu), tv, 1);
    v8f t2 = t * t, t3 = t2 * t;  /* keys_weights, as written there */
    out->w[0] = -0.5f * t3 + t2 - 0.5f * t;
    out->w[1] = 1.5f * t3 - 2.5f * t2 + 1.0f;
    out->w[2] = -1.5f * t3 + 2.0f * t2 + 0.5f * t;
    out->w[3] = 0.5f * t3 - 0.5f * t2;
}

/* canonical_nan of 8 floats */
__attribute__((target("avx"), always_inline)) static inline __m256 canonical_nan8(__m256 x) {
    __m256 nan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
    __m256 qnan = _mm256_castsi256_ps(_mm256_set1_epi32(QNAN_BITS));
    return _mm256_or_ps(_mm256_andnot_ps(nan, x), _mm256_and_ps(nan, qnan));
}

/* tap k of pixel j (q0) in the low half, of pixel j + 1 (q1) in the high half */
#define TAPS2(q0, q1, k) \
    ((v8f)_mm256_insertf128_ps(_mm256_castps128_ps256((__m128)(q0)[k]), (__m128)(q1)[k], 1))

/* weight k of pixels 2h and 2h + 1 of a prep4_t along one axis (w: &prep.w[0][4 axis + 2h])
 * across the low half and the high half */
#define WEIGHT2(w, k)                                                            \
    ((v8f)_mm256_permutevar_ps(                                                  \
        _mm256_castpd_ps(_mm256_broadcast_sd((const double *)((w) + 8 * (k)))), \
        _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1)))

__attribute__((target("avx"))) static void keys_span_avx(
    const v4f *grid, long pitch, long height, long width, const double *m, double u0,
    double v0, float *d, long plane, long channels, long a, long b) {
    v4f buf[SPAN_CHUNK] __attribute__((aligned(32)));
    prep4_t prep[SPAN_CHUNK / 4] __attribute__((aligned(32)));
    const v4f *base = grid + (PAD - 1) * pitch + (PAD - 1);
    for (long j0 = a; j0 < b; j0 += SPAN_CHUNK) {
        long n = b - j0 < SPAN_CHUNK ? b - j0 : SPAN_CHUNK, groups = (n + 3) / 4;
        /* pass 1, up to 3 pixels past the chunk included (never stored; their clamped
         * taps lie in the grid). The coordinates are monotone along the row (see coord),
         * so where those at both ends lie within +-4e15 all do: the plain floor. */
        double x = (double)j0 + 0.5, xe = x + (double)(4 * groups - 1);
        double ends[4] = {m[0] * x + u0, m[0] * xe + u0, m[3] * x + v0, m[3] * xe + v0};
        int plain = 1;
        for (int e = 0; e < 4; ++e) plain &= ends[e] > -4.0e15 && ends[e] < 4.0e15;
        __m256d xs = _mm256_setr_pd(x, x + 1.0, x + 2.0, x + 3.0);  /* exact: as coord */
        const __m256d four = _mm256_set1_pd(4.0);
        if (plain)
            for (long g = 0; g < groups; ++g, xs = _mm256_add_pd(xs, four))
                prepare4(xs, m, u0, v0, (double)pitch, (double)width, (double)height, 0,
                         prep + g);
        else
            for (long g = 0; g < groups; ++g, xs = _mm256_add_pd(xs, four))
                prepare4(xs, m, u0, v0, (double)pitch, (double)width, (double)height, 1,
                         prep + g);
        /* pass 2 (an odd n: the last pair's high half is the pixel past the chunk) */
        for (long i = 0; i < n; i += 2) {
            const prep4_t *pr = prep + i / 4;
            const float *w = (const float *)pr->w + (i & 2);
            v8f wu0 = WEIGHT2(w, 0), wu1 = WEIGHT2(w, 1), wu2 = WEIGHT2(w, 2),
                wu3 = WEIGHT2(w, 3);
            const v4f *q0 = base + pr->off[i & 3], *q1 = base + pr->off[(i & 3) + 1];
            v8f r[4];
            for (int row = 0; row < 4; ++row, q0 += pitch, q1 += pitch) {
                r[row] = (wu0 * TAPS2(q0, q1, 0) + wu1 * TAPS2(q0, q1, 1)) +
                         (wu2 * TAPS2(q0, q1, 2) + wu3 * TAPS2(q0, q1, 3));
                /* one row's loads at a time: else GCC loads all 32 first and spills */
                __asm__ volatile("" : "+x"(r[row]) : : "memory");
            }
            v8f wv0 = WEIGHT2(w + 4, 0), wv1 = WEIGHT2(w + 4, 1), wv2 = WEIGHT2(w + 4, 2),
                wv3 = WEIGHT2(w + 4, 3);
            *(v8f *)(buf + i) = (wv0 * r[0] + wv1 * r[1]) + (wv2 * r[2] + wv3 * r[3]);
        }
        /* pass 3 */
        long i = 0;
        for (; i + 4 <= n; i += 4) {
            __m256 x01 = canonical_nan8(_mm256_load_ps((const float *)(buf + i)));
            __m256 x23 = canonical_nan8(_mm256_load_ps((const float *)(buf + i + 2)));
            __m256 lo = _mm256_unpacklo_ps(x01, x23), hi = _mm256_unpackhi_ps(x01, x23);
            __m128 l0 = _mm256_castps256_ps128(lo), l1 = _mm256_extractf128_ps(lo, 1);
            __m128 h0 = _mm256_castps256_ps128(hi), h1 = _mm256_extractf128_ps(hi, 1);
            __m128 ch[4] = {_mm_unpacklo_ps(l0, l1), _mm_unpackhi_ps(l0, l1),
                            _mm_unpacklo_ps(h0, h1), _mm_unpackhi_ps(h0, h1)};
            for (long k = 0; k < channels; ++k) _mm_storeu_ps(d + k * plane + j0 + i, ch[k]);
        }
        for (; i < n; ++i) {
            v4f x = canonical_nan(buf[i]);
            for (long k = 0; k < channels; ++k) d[k * plane + j0 + i] = x[k];
        }
    }
}
#endif

/* Rows [row0, row1) of the warp into dst: channels (1 to 4) planes of out_h x out_w
 * floats (contiguous). grid: the packed source of height x width pixels (see above), its
 * padding zeros unless border. m: the 2 x 3 src_from_dst matrix, row-major. isa: ISA_AUTO
 * (the best this CPU runs), ISA_BASELINE or ISA_AVX (where fsv_warp_best_isa says so, and
 * the grid has fewer than 2^31 pixels; else the baseline): the same bits either way.
 * Callers may split the rows over threads.
 *
 * With zero padding a pixel whose taps all lie outside the image reads only zeros and
 * comes out +0 (finite weights; in each sum of four products the third weight is >= +0,
 * so that pair is +0 and so is the sum, whatever the others' signs). Its taps
 * floor - 1 .. floor + 2 along x reach the image columns 0 .. width - 1 exactly when
 * -2 <= u < width + 1 (first_tap leaves such floors as they are), and likewise along y:
 * each row evaluates only the span of pixels within both and writes +0 around it. Border
 * padding reads edge pixels everywhere: every pixel is evaluated. */
void fsv_warp_keys(const v4f *grid, long height, long width, const double *m, int border,
                   float *dst, long channels, long out_h, long out_w, long row0, long row1,
                   int isa) {
    long pitch = width + 2 * PAD;
    long plane = out_h * out_w;
    /* the AVX pass keeps tap offsets in 32 bits: grids of fewer than 2^31 pixels */
    int avx = isa != ISA_BASELINE && fsv_warp_best_isa() == ISA_AVX &&
              (double)(height + 2 * PAD) * (double)pitch < 2147483647.0;
    for (long i = row0; i < row1; ++i) {
        double yi = (double)i + 0.5;
        double u0 = m[1] * yi + m[2] - 0.5, v0 = m[4] * yi + m[5] - 0.5;
        float *out_row = dst + i * out_w;
        long a = 0, b = out_w;
        if (!border && row_finite(m, u0, v0, out_w)) {
            long ua, ub, va, vb;
            span(m[0], u0, -2.0, 0, (double)width + 1.0, 1, out_w, &ua, &ub);
            span(m[3], v0, -2.0, 0, (double)height + 1.0, 1, out_w, &va, &vb);
            a = ua > va ? ua : va, b = ub < vb ? ub : vb;
            if (b < a) a = b = out_w;
            for (long k = 0; k < channels; ++k) {
                float *d = out_row + k * plane;
                for (long j = 0; j < a; ++j) d[j] = 0.0f;
                for (long j = b; j < out_w; ++j) d[j] = 0.0f;
            }
        }
#ifdef WARP_AVX
        if (avx) {
            keys_span_avx(grid, pitch, height, width, m, u0, v0, out_row, plane, channels, a,
                          b);
            continue;
        }
#endif
        keys_span(grid, pitch, height, width, m, u0, v0, out_row, plane, channels, a, b);
    }
    (void)avx;
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

static inline float cover_pixel(double u, double v, long height, long width) {
    double fu = floor_fast(u), fv = floor_fast(v);
    double weight = inside_weight(fu, u - fu, width) * inside_weight(fv, v - fv, height);
    return weight > 0.999 ? 1.0f : 0.0f;
}

/* Per row, inside_weight is exactly 0 unless -1 < u < width (and likewise v): the outer
 * span, outside which the row is 0. It is exactly 1 where 0 <= u <= width - 1 (both taps
 * in the image, t exact, (1 - t) + t rounding back to 1; or t = 0): the core span, all 1.
 * Only the pixels between (about 1 / |m[0]| or 1 / |m[3]| per edge the row crosses) take
 * the predicate, so the result is the per-pixel one to the bit for any matrix, without
 * assuming that the covered set is one span (rounding near the threshold could break
 * that). */
void fsv_warp_cover(long height, long width, const double *m, float *dst, long out_w,
                    long row0, long row1) {
    for (long i = row0; i < row1; ++i) {
        double yi = (double)i + 0.5;
        double u0 = m[1] * yi + m[2] - 0.5, v0 = m[4] * yi + m[5] - 0.5;
        float *d = dst + i * out_w;
        if (!row_finite(m, u0, v0, out_w)) {
            for (long j = 0; j < out_w; ++j)
                d[j] = cover_pixel(coord(m[0], u0, j), coord(m[3], v0, j), height, width);
            continue;
        }
        long ua, ub, va, vb, ca, cb;
        span(m[0], u0, -1.0, 1, (double)width, 1, out_w, &ua, &ub);
        span(m[3], v0, -1.0, 1, (double)height, 1, out_w, &va, &vb);
        long a = ua > va ? ua : va, b = ub < vb ? ub : vb;  /* the outer span */
        if (b < a) a = b = out_w;
        span(m[0], u0, 0.0, 0, (double)width - 1.0, 0, out_w, &ua, &ub);
        span(m[3], v0, 0.0, 0, (double)height - 1.0, 0, out_w, &va, &vb);
        ca = ua > va ? ua : va, cb = ub < vb ? ub : vb;  /* the core, within the outer */
        if (cb <= ca) ca = cb = b;  /* none: the predicate over the whole outer span */
        for (long j = 0; j < a; ++j) d[j] = 0.0f;
        for (long j = a; j < ca; ++j)
            d[j] = cover_pixel(coord(m[0], u0, j), coord(m[3], v0, j), height, width);
        for (long j = ca; j < cb; ++j) d[j] = 1.0f;
        for (long j = cb; j < b; ++j)
            d[j] = cover_pixel(coord(m[0], u0, j), coord(m[3], v0, j), height, width);
        for (long j = b; j < out_w; ++j) d[j] = 0.0f;
    }
}

/* Separable Gaussian blur, edges replicated: faceswap_vfx.core.filters.gaussian_blur's
 * arithmetic (the taps come from its gaussian_kernel1d) on up to 4 channels at once.
 * Along y first, then along x, each output the taps' products summed in tap order, as
 * its torch passes do (torch may fuse each multiply-add: results agree to float32
 * rounding, NaN and Inf spread alike).
 *
 * A band of output rows keeps the 2 radius + 1 source rows it reads in a ring, packed to
 * 4 floats a pixel, so the (possibly channels-last or strided) source is read about once
 * and no blurred copy of the whole image is made. */

typedef struct {
    const float *src;     /* channel 0 of the source: pixel (y, x, k) at y sy + x sx + k sc */
    long sc, sy, sx, channels, height, width;
    const float *taps;    /* 2 radius + 1 of them */
    long radius;
    v4f *ring;            /* 2 radius + 1 packed rows: slot (s + radius) % n holds row s */
    v4f *line;            /* width + 2 radius: the column pass of one row, edges repeated */
    const v4f **rows;     /* 2 radius + 1 row pointers of one correlation */
    long next;            /* the first source row (unclamped) not yet in the ring */
} blur_t;

static inline long clamp_index(long i, long size) {
    return i < 0 ? 0 : (i >= size ? size - 1 : i);
}

/* source row y (clamped into the image), channels packed, the other lanes zero */
static void load_row(const blur_t *b, long y, v4f *out) {
    const float *p = b->src + clamp_index(y, b->height) * b->sy;
    long sc = b->sc, sx = b->sx;
    switch (b->channels) {  /* a constant channel count: no inner loop per pixel */
    case 1: for (long x = 0; x < b->width; ++x, p += sx) out[x] = (v4f){p[0], 0, 0, 0}; break;
    case 2: for (long x = 0; x < b->width; ++x, p += sx) out[x] = (v4f){p[0], p[sc], 0, 0};
        break;
    case 3: for (long x = 0; x < b->width; ++x, p += sx)
            out[x] = (v4f){p[0], p[sc], p[2 * sc], 0};
        break;
    default: for (long x = 0; x < b->width; ++x, p += sx)
            out[x] = (v4f){p[0], p[sc], p[2 * sc], p[3 * sc]};
    }
}

/* out[x] = sum over k of taps[k] rows[k][x] for x0 <= x < width, in tap order; 4 pixels a
 * step for 4 independent chains of adds */
static void correlate_v4(const v4f *const *rows, const float *taps, long n, v4f *out,
                         long x0, long width) {
    long x = x0;
    for (; x + 4 <= width; x += 4) {
        const v4f *r = rows[0] + x;
        v4f a0 = taps[0] * r[0], a1 = taps[0] * r[1], a2 = taps[0] * r[2], a3 = taps[0] * r[3];
        for (long k = 1; k < n; ++k) {
            r = rows[k] + x;
            a0 = a0 + taps[k] * r[0], a1 = a1 + taps[k] * r[1];
            a2 = a2 + taps[k] * r[2], a3 = a3 + taps[k] * r[3];
        }
        out[x] = a0, out[x + 1] = a1, out[x + 2] = a2, out[x + 3] = a3;
    }
    for (; x < width; ++x) {
        v4f a = taps[0] * rows[0][x];
        for (long k = 1; k < n; ++k) a = a + taps[k] * rows[k][x];
        out[x] = a;
    }
}

#ifdef WARP_AVX
/* correlate_v4 with AVX's 8-float vectors, two pixels each, where the CPU has AVX (picked
 * at run time: the build targets baseline x86-64): the same products and sums in the same
 * order, so the same bits, in half the instructions. Does the pixels x < 8 floor(width / 8)
 * and returns their count; it calls nothing, so that it clears the upper halves of the
 * AVX registers (vzeroupper) before any SSE code runs again, which would otherwise slow
 * every SSE instruction after it (the warp's too). */
__attribute__((target("avx"))) static long correlate_v8(const v4f *const *rows,
                                                         const float *taps, long n, v4f *out,
                                                         long width) {
    long x = 0;
    for (; x + 8 <= width; x += 8) {
        const v8f *r = (const v8f *)(rows[0] + x);
        v8f a0 = taps[0] * r[0], a1 = taps[0] * r[1], a2 = taps[0] * r[2], a3 = taps[0] * r[3];
        for (long k = 1; k < n; ++k) {
            r = (const v8f *)(rows[k] + x);
            a0 = a0 + taps[k] * r[0], a1 = a1 + taps[k] * r[1];
            a2 = a2 + taps[k] * r[2], a3 = a3 + taps[k] * r[3];
        }
        v8f *o = (v8f *)(out + x);
        o[0] = a0, o[1] = a1, o[2] = a2, o[3] = a3;
    }
    return x;
}

static void correlate(const v4f *const *rows, const float *taps, long n, v4f *out,
                      long width) {
    long done = __builtin_cpu_supports("avx") ? correlate_v8(rows, taps, n, out, width) : 0;
    correlate_v4(rows, taps, n, out, done, width);
}
#else
static void correlate(const v4f *const *rows, const float *taps, long n, v4f *out,
                      long width) {
    correlate_v4(rows, taps, n, out, 0, width);
}
#endif

/* the blurred image row y (0 <= y < height) into out (width packed pixels); rows asked
 * for in increasing order (repeats allowed) load each source row once */
static void blurred_row(blur_t *b, long y, v4f *out) {
    long r = b->radius, n = 2 * r + 1, w = b->width;
    if (r == 0) {  /* no blur: only the packing */
        load_row(b, y, out);
        return;
    }
    if (b->next < y - r) b->next = y - r;
    for (; b->next <= y + r; ++b->next) load_row(b, b->next, b->ring + (b->next + r) % n * w);
    for (long k = 0; k < n; ++k) b->rows[k] = b->ring + (y + k) % n * w;  /* row y - r + k */
    correlate(b->rows, b->taps, n, b->line + r, w);  /* along y */
    for (long k = 0; k < r; ++k)  /* the edges replicated, as F.pad(mode="replicate") */
        b->line[k] = b->line[r], b->line[r + w + k] = b->line[r + w - 1];
    for (long k = 0; k < n; ++k) b->rows[k] = b->line + k;
    correlate(b->rows, b->taps, n, out, w);  /* along x */
}

/* a blur_t with its buffers, or 0 when memory runs out */
static int blur_init(blur_t *b, const float *src, long sc, long sy, long sx, long channels,
                     long height, long width, const float *taps, long radius) {
    long n = 2 * radius + 1;
    *b = (blur_t){src, sc, sy, sx, channels, height, width, taps, radius, 0, 0, 0, -radius};
    if (radius == 0) return 1;
    b->ring = malloc(sizeof(v4f) * (size_t)(n * width + width + 2 * radius));
    b->rows = malloc(sizeof(v4f *) * (size_t)n);
    if (!b->ring || !b->rows) {
        free(b->ring), free((void *)b->rows);
        return 0;
    }
    b->line = b->ring + n * width;
    return 1;
}

static void blur_free(blur_t *b) { free(b->ring), free((void *)b->rows); }

/* Rows [row0, row1) of the packed grid fsv_warp_keys reads (see the top of this file),
 * holding the source of height x width pixels blurred with taps (2 radius + 1 floats;
 * radius 0: copied, taps unused) and, outside it, zeros or (border != 0) its edge pixels.
 * src: the first of channels (1 to 4) channels, pixel (y, x, k) at src[y sy + x sx + k sc]
 * (strides in floats, any layout). Returns 0 when out of memory, else 1. Callers may split
 * the rows over threads. */
int fsv_blur_pack(const float *src, long sc, long sy, long sx, long channels, long height,
                  long width, const float *taps, long radius, int border, v4f *grid,
                  long row0, long row1) {
    blur_t b;
    if (!blur_init(&b, src, sc, sy, sx, channels, height, width, taps, radius)) return 0;
    long pitch = width + 2 * PAD;
    v4f zero = {0, 0, 0, 0};
    for (long i = row0; i < row1; ++i) {
        v4f *row = grid + i * pitch;
        long y = i - PAD;
        if (!border && (y < 0 || y >= height)) {
            for (long x = 0; x < pitch; ++x) row[x] = zero;
            continue;
        }
        if (border && i > row0 && clamp_index(y, height) == clamp_index(y - 1, height)) {
            memcpy(row, row - pitch, sizeof(v4f) * (size_t)pitch);  /* a repeated edge row */
            continue;
        }
        blurred_row(&b, clamp_index(y, height), row + PAD);
        v4f left = border ? row[PAD] : zero, right = border ? row[PAD + width - 1] : zero;
        for (long x = 0; x < PAD; ++x) row[x] = left, row[PAD + width + x] = right;
    }
    blur_free(&b);
    return 1;
}

/* Rows [row0, row1) of the same blur of the source (as fsv_blur_pack's, 0 < radius) into
 * channels planes of height x width floats: dst (contiguous). Returns 0 when out of
 * memory, else 1. */
int fsv_blur(const float *src, long sc, long sy, long sx, long channels, long height,
             long width, const float *taps, long radius, float *dst, long row0, long row1) {
    blur_t b;
    v4f *out = malloc(sizeof(v4f) * (size_t)width);
    if (!out || !blur_init(&b, src, sc, sy, sx, channels, height, width, taps, radius)) {
        free(out);
        return 0;
    }
    long plane = height * width;
    for (long y = row0; y < row1; ++y) {
        blurred_row(&b, y, out);
        for (long k = 0; k < channels; ++k) {
            float *d = dst + k * plane + y * width;
            for (long x = 0; x < width; ++x) d[x] = out[x][k];
        }
    }
    blur_free(&b);
    free(out);
    return 1;
}

/* scipy.ndimage.gaussian_filter(plane, sigma, mode="nearest") of one float plane, to the
 * bit: scipy's arithmetic (ndimage's NI_Correlate1D for a symmetric kernel, as its x86-64
 * wheels compile it: no fused multiply-adds) along y, the result rounded to float, then
 * along x, rounded again. Each output is, in double,
 *     acc = c[0] w[0];  acc += (c[-k] + c[+k]) w[k]  for k = radius .. 1
 * (the outer pair first), edges replicated. Vectors hold neighbouring outputs of a row,
 * so no output's order of operations changes; several times scipy's speed, whose loops
 * take one output at a time. */

typedef double v2d __attribute__((vector_size(16), aligned(8), may_alias));

/* acc[x] = center[x] w[0] + sum of (lo[k][x] + hi[k][x]) w[k], k = r .. 1, in that order,
 * for x0 <= x < n: 8 pixels a step, held in 4 vectors across the taps; the rest one by
 * one (the same operations in the same order) */
static void symmetric_sum_v2(const double *center, const double *const *lo,
                             const double *const *hi, const double *w, long r, double *acc,
                             long x0, long n) {
    long x = x0;
    for (; x + 8 <= n; x += 8) {
        const v2d *c = (const v2d *)(center + x);
        v2d a0 = c[0] * w[0], a1 = c[1] * w[0], a2 = c[2] * w[0], a3 = c[3] * w[0];
        for (long k = r; k >= 1; --k) {
            const v2d *p = (const v2d *)(lo[k] + x), *q = (const v2d *)(hi[k] + x);
            a0 = a0 + (p[0] + q[0]) * w[k], a1 = a1 + (p[1] + q[1]) * w[k];
            a2 = a2 + (p[2] + q[2]) * w[k], a3 = a3 + (p[3] + q[3]) * w[k];
        }
        v2d *o = (v2d *)(acc + x);
        o[0] = a0, o[1] = a1, o[2] = a2, o[3] = a3;
    }
    for (; x < n; ++x) {
        double a = center[x] * w[0];
        for (long k = r; k >= 1; --k) a = a + (lo[k][x] + hi[k][x]) * w[k];
        acc[x] = a;
    }
}

#ifdef WARP_AVX
typedef double v4d __attribute__((vector_size(32), aligned(8), may_alias));

/* symmetric_sum_v2 in AVX's 4-double vectors for x < 16 floor(n / 16); returns that
 * count. Calls nothing, so its upper register halves are cleared on return. */
__attribute__((target("avx"))) static long symmetric_sum_v4(
        const double *center, const double *const *lo, const double *const *hi,
        const double *w, long r, double *acc, long n) {
    long x = 0;
    for (; x + 16 <= n; x += 16) {
        const v4d *c = (const v4d *)(center + x);
        v4d a0 = c[0] * w[0], a1 = c[1] * w[0], a2 = c[2] * w[0], a3 = c[3] * w[0];
        for (long k = r; k >= 1; --k) {
            const v4d *p = (const v4d *)(lo[k] + x), *q = (const v4d *)(hi[k] + x);
            a0 = a0 + (p[0] + q[0]) * w[k], a1 = a1 + (p[1] + q[1]) * w[k];
            a2 = a2 + (p[2] + q[2]) * w[k], a3 = a3 + (p[3] + q[3]) * w[k];
        }
        v4d *o = (v4d *)(acc + x);
        o[0] = a0, o[1] = a1, o[2] = a2, o[3] = a3;
    }
    return x;
}
#endif

static void symmetric_sum(const double *center, const double *const *lo,
                          const double *const *hi, const double *w, long r, double *acc,
                          long n) {
    long done = 0;
#ifdef WARP_AVX
    if (__builtin_cpu_supports("avx")) done = symmetric_sum_v4(center, lo, hi, w, r, acc, n);
#endif
    symmetric_sum_v2(center, lo, hi, w, r, acc, done, n);
}

/* Rows [row0, row1) of that blur: src, height rows of width floats, row y at src + y sy;
 * w: radius + 1 doubles, the centre tap then those k = 1 .. radius px away; dst: height x
 * width floats (contiguous). Returns 0 when out of memory, else 1. Callers may split the
 * rows over threads. */
int fsv_blur_plane(const float *src, long sy, long height, long width, const double *w,
                   long radius, float *dst, long row0, long row1) {
    long r = radius, n = 2 * r + 1;
    /* a ring of the 2 r + 1 source rows (as doubles) the y pass reads; one row of its
     * result; the x pass's line (that row rounded to float, edges repeated r px) */
    double *ring = malloc(sizeof(double) * (size_t)(n * width + 2 * width + 2 * r));
    const double **lo = malloc(sizeof(double *) * (size_t)(2 * (r + 1)));
    if (!ring || !lo) {
        free(ring), free((void *)lo);
        return 0;
    }
    const double **hi = lo + r + 1;
    double *acc = ring + n * width, *line = acc + width + r;
    long next = row0 - r;  /* the first source row (unclamped) not yet in the ring */
    for (long y = row0; y < row1; ++y) {
        for (; next <= y + r; ++next) {
            const float *s = src + clamp_index(next, height) * sy;
            double *d = ring + ((next % n) + n) % n * width;
            for (long x = 0; x < width; ++x) d[x] = s[x];
        }
        for (long k = 1; k <= r; ++k)
            lo[k] = ring + (((y - k) % n) + n) % n * width,
            hi[k] = ring + (((y + k) % n) + n) % n * width;
        symmetric_sum(ring + (y % n) * width, lo, hi, w, r, acc, width);  /* along y */
        for (long x = 0; x < width; ++x) line[x] = (float)acc[x];
        for (long k = 1; k <= r; ++k)
            line[-k] = line[0], line[width - 1 + k] = line[width - 1];
        for (long k = 1; k <= r; ++k) lo[k] = line - k, hi[k] = line + k;
        symmetric_sum(line, lo, hi, w, r, acc, width);  /* along x */
        float *o = dst + y * width;
        for (long x = 0; x < width; ++x) o[x] = (float)acc[x];
    }
    free(ring), free((void *)lo);
    return 1;
}

/* Checked by the ctypes binding (faceswap_vfx/core/warp_kernel.py) before use. */
int warp_abi_version(void) { return 6; }
