/* The caller's (C, H, W) images, read and written in place whatever their strides. */

#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>
/* dst[0, n) = src[0, n), the 16-byte aligned part with non-temporal stores */
static void stream_copy(float *dst, const float *src, i64 n)
{
    i64 head = (i64)((16 - ((uintptr_t)dst & 15)) & 15);
    if (head % sizeof(float)) {
        memcpy(dst, src, sizeof(float) * n);
        return;
    }
    head = imin(n, head / (i64)sizeof(float));
    memcpy(dst, src, sizeof(float) * head);
    i64 j = head;
    for (; j + 4 <= n; j += 4) _mm_stream_ps(dst + j, _mm_loadu_ps(src + j));
    memcpy(dst + j, src + j, sizeof(float) * (n - j));
}

static void sfence(void) { _mm_sfence(); }
#else
static void stream_copy(float *dst, const float *src, i64 n) { memcpy(dst, src, sizeof(float) * n); }
static void sfence(void) {}
#endif

/* One (C, H, W) image of the batch: element (c, y, x) at p[c * sc + y * sy + x * sx]. */
typedef struct {
    float *p;
    i64 sc, sy, sx;
} image;

static int interleaved(const image *im, i64 C) { return (C == 1 || im->sc == 1) && im->sx == C; }

/* Pixels [x0, x1) of row y of an image as interleaved floats (pixel x at x C): the
 * image's own row when it is interleaved, else gathered into buf. */
static const float *load_row(const image *im, i64 C, i64 y, i64 x0, i64 x1, float *buf)
{
    const float *p = im->p + y * im->sy;
    if (interleaved(im, C)) return p;
    if (C == 3 && im->sx == 1) {
        const float *r = p, *g = p + im->sc, *b = p + 2 * im->sc;
        for (i64 x = x0; x < x1; x++) {
            buf[3 * x] = r[x];
            buf[3 * x + 1] = g[x];
            buf[3 * x + 2] = b[x];
        }
    } else {
        for (i64 x = x0; x < x1; x++)
            for (i64 c = 0; c < C; c++) buf[x * C + c] = p[c * im->sc + x * im->sx];
    }
    return buf;
}

/* Row y of a not interleaved image from interleaved floats */
static void store_row(const image *im, i64 C, i64 W, i64 y, const float *row)
{
    float *p = im->p + y * im->sy;
    for (i64 x = 0; x < W; x++)
        for (i64 c = 0; c < C; c++) p[c * im->sc + x * im->sx] = row[x * C + c];
}
