/* Pixels and vectors of floats (GNU C vector extensions, plain C elsewhere) and the
 * correlation the mask blur is made of. */

/* A pixel of up to 4 channels as 4 floats (lanes past C are don't-care). */
typedef struct {
    float v[4];
} px;

static px px_load(const float *p)
{
    px a;
    memcpy(a.v, p, sizeof(a.v));
    return a;
}

static void px_store(float *p, px a) { memcpy(p, a.v, sizeof(a.v)); }

/* a * s + b * t: each product rounded, then the sum */
static px px_lerp(px a, float s, px b, float t)
{
    px o;
    for (int l = 0; l < 4; l++) o.v[l] = a.v[l] * s + b.v[l] * t;
    return o;
}

#define BLOCK (4 * VW)  /* floats the blur sums at once: 4 vectors in registers */

#if defined(__GNUC__) || defined(__clang__)
typedef float vec __attribute__((vector_size(VW * sizeof(float))));

static vec vload(const float *p)
{
    vec v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* out[i] = sum over k of src[k][i] * t[k] (k in order), i < BLOCK */
static void correlate_block(const float *const *src, const float *t, i64 k_n, float *out)
{
    const float *s = src[0];
    vec a = vload(s) * t[0], b = vload(s + VW) * t[0];
    vec c = vload(s + 2 * VW) * t[0], d = vload(s + 3 * VW) * t[0];
    for (i64 k = 1; k < k_n; k++) {
        float tk = t[k];
        s = src[k];
        a += vload(s) * tk;
        b += vload(s + VW) * tk;
        c += vload(s + 2 * VW) * tk;
        d += vload(s + 3 * VW) * tk;
    }
    memcpy(out, &a, sizeof(a));
    memcpy(out + VW, &b, sizeof(b));
    memcpy(out + 2 * VW, &c, sizeof(c));
    memcpy(out + 3 * VW, &d, sizeof(d));
}
#else
static void correlate_block(const float *const *src, const float *t, i64 k_n, float *out)
{
    for (i64 i = 0; i < BLOCK; i++) {
        float acc = src[0][i] * t[0];
        for (i64 k = 1; k < k_n; k++) acc += src[k][i] * t[k];
        out[i] = acc;
    }
}
#endif

#if VW == 8 && (defined(__GNUC__) || defined(__clang__))
/* Two 3-channel pixels in one 8-float vector (lanes 6, 7 don't-care) */
#define PAIRS 1
#if defined(__clang__)
#define SWAP_PIXELS(v) __builtin_shufflevector(v, v, 3, 4, 5, 0, 1, 2, 6, 7)
#define SPREAD_PAIR(v) __builtin_shufflevector(v, v, 0, 0, 0, 1, 1, 1, 2, 2)
#else
typedef int32_t ivec __attribute__((vector_size(VW * sizeof(int32_t))));
#define SWAP_PIXELS(v) __builtin_shuffle(v, (ivec){3, 4, 5, 0, 1, 2, 6, 7})
#define SPREAD_PAIR(v) __builtin_shuffle(v, (ivec){0, 0, 0, 1, 1, 1, 2, 2})
#endif
#endif

/* out[x] = sum over k of src[k][x] * t[k] (k in order), x < n. src: k_n pointers, moved. */
static void correlate(const float **src, const float *t, i64 k_n, i64 n, float *out)
{
    i64 x = 0;
    for (; x + BLOCK <= n; x += BLOCK) {
        correlate_block(src, t, k_n, out + x);
        for (i64 k = 0; k < k_n; k++) src[k] += BLOCK;
    }
#if defined(__GNUC__) || defined(__clang__)
    for (; x + VW <= n; x += VW) {
        vec a = vload(src[0]) * t[0];
        for (i64 k = 1; k < k_n; k++) a += vload(src[k]) * t[k];
        memcpy(out + x, &a, sizeof(a));
        for (i64 k = 0; k < k_n; k++) src[k] += VW;
    }
#endif
    for (; x < n; x++) {
        float acc = src[0][0] * t[0];
        for (i64 k = 1; k < k_n; k++) acc += src[k][0] * t[k];
        out[x] = acc;
        for (i64 k = 0; k < k_n; k++) src[k]++;
    }
}
