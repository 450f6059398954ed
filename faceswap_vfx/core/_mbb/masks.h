/* The level masks: area averages, their supports and runs of 1s, the Gaussian blur
 * (filters.py's separable) row by row, as core/blend.py's level_masks. */

static float clamp01(float v)
{
    v = v < 0.0f ? 0.0f : v;  /* NaN stays NaN, as torch.clamp */
    return v > 1.0f ? 1.0f : v;
}

/* F.avg_pool2d by whole factors (kernel = stride): (ph, pw) p, row stride ps -> (h, w). */
static void pool_exact(const float *p, i64 ps, i64 fh, i64 fw, i64 h, i64 w, float *out)
{
    float area = (float)(fh * fw);
    if (fh == 2 && fw == 2) {
        for (i64 y = 0; y < h; y++) {
            const float *a = p + 2 * y * ps, *b = a + ps;
            for (i64 x = 0; x < w; x++)
                out[y * w + x] = (a[2 * x] + a[2 * x + 1] + b[2 * x] + b[2 * x + 1]) / area;
        }
        return;
    }
    for (i64 y = 0; y < h; y++)
        for (i64 x = 0; x < w; x++) {
            float sum = 0.0f;
            for (i64 dy = 0; dy < fh; dy++)
                for (i64 dx = 0; dx < fw; dx++) sum += p[(y * fh + dy) * ps + x * fw + dx];
            out[y * w + x] = sum / area;
        }
}

/* F.adaptive_avg_pool2d of the (H, W) mask p (row stride ps) to (h, w): windows
 * [floor(i H / h), ceil((i + 1) H / h)), summed in double, divided by kh then kw. */
static void pool_adaptive(const float *p, i64 ps, i64 H, i64 W, i64 h, i64 w, float *out)
{
    for (i64 y = 0; y < h; y++) {
        i64 y0 = y * H / h, y1 = ((y + 1) * H + h - 1) / h;
        for (i64 x = 0; x < w; x++) {
            i64 x0 = x * W / w, x1 = ((x + 1) * W + w - 1) / w;
            double sum = 0.0;
            for (i64 yy = y0; yy < y1; yy++)
                for (i64 xx = x0; xx < x1; xx++) sum += p[yy * ps + xx];
            out[y * w + x] = (float)(sum / (double)(y1 - y0) / (double)(x1 - x0));
        }
    }
}

/* A rectangle [y0, y1) x [x0, x1) */
typedef struct {
    i64 y0, y1, x0, x1;
} box;

/* A level mask before its blur: (h, w) u with row stride us, the blur's taps (2 r + 1;
 * r == 0: none) and the box outside which the blurred mask is 0: u's nonzero pixels
 * grown by r (blend.py's _blur_support); empty when u is all 0. ones (or NULL): per row
 * y, [ones[2 y], ones[2 y + 1]) holds only 1s, where the blur of a window of 1s is a
 * known constant (one_v down the column, one_h both ways, clamped). */
typedef struct {
    const float *u;
    i64 us, h, w, r;
    const float *taps;
    box nonzero;
    const i64 *ones;
    float one_v, one_h;
} mask_src;

/* one_v and one_h: the blur of 1s, the same sums in the same order as correlate */
static void set_ones(mask_src *s, const i64 *ones)
{
    const float *t = s->taps;
    float v = 1.0f * t[0], h;
    for (i64 k = 1; k <= 2 * s->r; k++) v += 1.0f * t[k];
    h = v * t[0];
    for (i64 k = 1; k <= 2 * s->r; k++) h += v * t[k];
    s->ones = s->r ? ones : NULL;
    s->one_v = v;
    s->one_h = clamp01(h);
}

/* The box of the nonzero pixels [y0, y1] x [x0, x1] (y1 < 0: none) grown by s->r */
static void set_support(mask_src *s, i64 y0, i64 y1, i64 x0, i64 x1)
{
    box b = {0, 0, 0, 0};
    if (y1 >= 0) {
        b.y0 = imax(0, y0 - s->r);
        b.y1 = imin(s->h, y1 + 1 + s->r);
        b.x0 = imax(0, x0 - s->r);
        b.x1 = imin(s->w, x1 + 1 + s->r);
    }
    s->nonzero = b;
}

/* first and last index of a nonzero in row[0, w); 0 when it is all zero */
static int nonzero_span(const float *row, i64 w, i64 *first, i64 *last)
{
    int any = 0;
    for (i64 x = 0; x < w; x++) any |= row[x] != 0.0f;
    if (!any) return 0;
    *first = 0;
    *last = w - 1;
    while (row[*first] == 0.0f) ++*first;
    while (row[*last] == 0.0f) --*last;
    return 1;
}

static void find_box(mask_src *s)
{
    i64 y0 = s->h, y1 = -1, x0 = s->w, x1 = -1, first, last;
    for (i64 y = 0; y < s->h; y++) {
        if (!nonzero_span(s->u + y * s->us, s->w, &first, &last)) continue;
        y0 = imin(y0, y);
        y1 = y;
        x0 = imin(x0, first);
        x1 = imax(x1, last);
    }
    set_support(s, y0, y1, x0, x1);
}

/* pool_exact by 2 x 2 of a mask (even sizes) into out, and from the same read the mask's
 * support (the box of the 2 x 2 blocks holding a nonzero: at most a pixel wider than
 * find_box's, which only costs work) and its runs of 1s (mask_src.ones: the first run of
 * 2 x 2 blocks of 1s on each pair of rows). Row y of the output: blocks[2 y, 2 y + 1] is
 * its first and last nonzero block (-1: none). */
typedef struct {
    const mask_src *src;
    float *out;
    i64 *ones, *blocks;
} pool2_job;

static void pool2_rows(void *arg, i64 row0, i64 row1, int *flags)
{
    const pool2_job *j = (const pool2_job *)arg;
    i64 w = j->src->w / 2, ps = j->src->us, first, last;
    float *abs_sum = malloc(sizeof(float) * 2 * (w + 1)), *all1;
    if (!abs_sum) {
        *flags |= FAILED;
        return;
    }
    all1 = abs_sum + w + 1;
    for (i64 y = row0; y < row1; y++) {
        const float *a = j->src->u + 2 * y * ps, *b = a + ps;
        float *out = j->out + y * w;
        for (i64 x = 0; x < w; x++) {
            out[x] = (a[2 * x] + a[2 * x + 1] + b[2 * x] + b[2 * x + 1]) / 4.0f;
            abs_sum[x] = fabsf(a[2 * x]) + fabsf(a[2 * x + 1]) + fabsf(b[2 * x]) + fabsf(b[2 * x + 1]);
            all1[x] = (float)((a[2 * x] == 1.0f) & (a[2 * x + 1] == 1.0f) & (b[2 * x] == 1.0f)
                              & (b[2 * x + 1] == 1.0f));
        }
        i64 *run = j->ones + 4 * y;
        run[0] = run[1] = run[2] = run[3] = 0;
        if (nonzero_span(all1, w, &first, &last)) {
            last = first;
            while (last < w && all1[last] != 0.0f) last++;
            run[0] = run[2] = 2 * first;
            run[1] = run[3] = 2 * last;
        }
        j->blocks[2 * y] = j->blocks[2 * y + 1] = -1;
        if (nonzero_span(abs_sum, w, &first, &last)) {
            j->blocks[2 * y] = first;
            j->blocks[2 * y + 1] = last;
        }
    }
    free(abs_sum);
}

/* pool2_rows over the whole mask s, then s's support; ones: 2 s->h. 0, or 1 on failure. */
static int pool2_find_box(mask_src *s, float *out, i64 *ones, int threads)
{
    i64 h = s->h / 2, w = s->w / 2, y0 = h, y1 = -1, x0 = w, x1 = -1;
    i64 *blocks = malloc(sizeof(i64) * 2 * h);
    pool2_job job = {s, out, ones, blocks};
    if (!blocks || parallel_rows(pool2_rows, &job, h, 2 * s->w, threads) & FAILED) {
        free(blocks);
        return 1;
    }
    for (i64 y = 0; y < h; y++) {
        if (blocks[2 * y] < 0) continue;
        y0 = imin(y0, y);
        y1 = y;
        x0 = imin(x0, blocks[2 * y]);
        x1 = imax(x1, blocks[2 * y + 1]);
    }
    free(blocks);
    set_support(s, 2 * y0, 2 * y1 + 1, 2 * x0, 2 * x1 + 1);
    return 0;
}

/* Pixels [x0, x1) of row y of the blurred, clamped mask into out (indexed from 0).
 * tmp: w + 2 r + 1 floats; rows: 2 r + 1 pointers. Rows first, then columns, each tap's
 * product added in order (filters.py's separable). */
static void mask_row(const mask_src *s, i64 y, i64 x0, i64 x1, float *out, float *tmp,
                     const float **rows)
{
    box b = s->nonzero;
    i64 r = s->r, k_n = 2 * r + 1;
    if (r == 0) {
        for (i64 x = x0; x < x1; x++) out[x] = clamp01(s->u[y * s->us + x]);
        return;
    }
    i64 c0 = imax(x0, b.x0), c1 = imin(x1, b.x1);
    if (y < b.y0 || y >= b.y1 || c0 >= c1) {
        memset(out + x0, 0, sizeof(float) * (x1 - x0));
        return;
    }
    memset(out + x0, 0, sizeof(float) * (c0 - x0));
    memset(out + c1, 0, sizeof(float) * (x1 - c1));
    /* columns [v0, v1) of the vertical pass (the box's edge replicated beyond), of which
     * [a0, a1) see only 1s */
    i64 v0 = imax(b.x0, c0 - r), v1 = imin(b.x1, c1 + r);
    i64 a0 = v0, a1 = v1;
    for (i64 k = 0; k < k_n && s->ones; k++) {
        const i64 *run = s->ones + 2 * iclamp(y + k - r, 0, s->h - 1);
        a0 = imax(a0, run[0]);
        a1 = imin(a1, run[1]);
    }
    if (!s->ones || a0 >= a1) a0 = a1 = v1;
    float *v = tmp + r - v0;  /* v[x]: column x */
    for (i64 part = 0; part < 2; part++) {
        i64 e0 = part ? a1 : v0, e1 = part ? v1 : a0;
        for (i64 k = 0; k < k_n; k++) rows[k] = s->u + iclamp(y + k - r, 0, s->h - 1) * s->us + e0;
        correlate(rows, s->taps, k_n, e1 - e0, v + e0);
    }
    for (i64 x = a0; x < a1; x++) v[x] = s->one_v;
    for (i64 x = c0 - r; x < v0; x++) v[x] = v[v0];  /* the columns the horizontal pass reads */
    for (i64 x = v1; x < c1 + r; x++) v[x] = v[v1 - 1];
    /* outputs [c0, c1), of which [h0, h1) see only one_v */
    i64 h0 = imax(c0, a0 + r), h1 = imin(c1, a1 - r);
    if (h0 >= h1) h0 = h1 = c1;
    for (i64 part = 0; part < 2; part++) {
        i64 e0 = part ? h1 : c0, e1 = part ? c1 : h0;
        for (i64 k = 0; k < k_n; k++) rows[k] = v + e0 - r + k;
        correlate(rows, s->taps, k_n, e1 - e0, out + e0);
        for (i64 x = e0; x < e1; x++) out[x] = clamp01(out[x]);
    }
    for (i64 x = h0; x < h1; x++) out[x] = s->one_h;
}

typedef struct {
    const float *taps;
    i64 r;
    float *tmp;
    const float **rows;
} mask_scratch;

static int mask_scratch_alloc(mask_scratch *m, const mask_src *s)
{
    m->tmp = malloc(sizeof(float) * (s->w + 2 * s->r + 1));
    m->rows = malloc(sizeof(float *) * (2 * s->r + 1));
    return !m->tmp || !m->rows;
}

static void mask_scratch_free(mask_scratch *m)
{
    free(m->tmp);
    free((void *)m->rows);
}

typedef struct {
    const mask_src *src;
    float *out;
} blur_job;

static void blur_rows(void *arg, i64 row0, i64 row1, int *flags)
{
    const blur_job *j = (const blur_job *)arg;
    mask_scratch m;
    if (mask_scratch_alloc(&m, j->src)) {
        *flags |= FAILED;
    } else {
        i64 w = j->src->w;
        for (i64 y = row0; y < row1; y++) mask_row(j->src, y, 0, w, j->out + y * w, m.tmp, m.rows);
    }
    mask_scratch_free(&m);
}
