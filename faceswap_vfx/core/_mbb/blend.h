/* The level masks of every level, the buffers, and the entry point. */

/* The masks of levels [0, n_face) as blend.py's level_masks: area averages (exact pooling
 * from the finest exact one, else adaptive from full resolution), blurred, clamped, into
 * p->mask; level 0's is blurred row by row in pass B. Also each level's support. */
static int level_masks(pyramid *p, const float *mask, i64 ms, const float *taps, i64 r,
                       int threads)
{
    const float *pooled = mask, *u = mask;  /* the finest exact average; level i's mask */
    i64 ps = ms, ph = p->h[0], pw = p->w[0], us = ms;
    for (i64 i = 0; i < p->n_face; i++) {
        i64 h = p->h[i], w = p->w[i];
        mask_src s = {u, us, h, w, r, taps, {0, 0, 0, 0}, NULL, 0.0f, 0.0f};
        int next = i + 1 < p->n_face;  /* level i + 1 pooled by 2 x 2 in the same read */
        int pool2 = next && u == pooled && h == 2 * p->h[i + 1] && w == 2 * p->w[i + 1];
        if (pool2) {
            if (pool2_find_box(&s, p->pooled[i + 1], p->ones[i], threads)) return 1;
            set_ones(&s, p->ones[i]);
        } else {
            find_box(&s);
            set_ones(&s, NULL);
        }
        p->support[i] = s.nonzero;
        if (i == 0) {
            p->mask0 = s;  /* blurred row by row in pass B */
        } else {
            blur_job job = {&s, p->mask[i]};
            if (parallel_rows(blur_rows, &job, h, w * (2 * r + 1) * 2, threads) & FAILED)
                return 1;
        }
        if (!next) break;
        i64 hn = p->h[i + 1], wn = p->w[i + 1];
        if (!pool2 && ph == hn && pw == wn) {
            u = pooled;
            us = ps;
            continue;
        }
        if (!pool2 && ph % hn == 0 && pw % wn == 0)
            pool_exact(pooled, ps, ph / hn, pw / wn, hn, wn, p->pooled[i + 1]);
        else if (!pool2)
            pool_adaptive(mask, ms, p->h[0], p->w[0], hn, wn, p->pooled[i + 1]);
        u = p->pooled[i + 1];
        us = wn;
        if (pool2 || (ph % hn == 0 && pw % wn == 0)) {
            pooled = u;
            ps = pw = wn;
            ph = hn;
        }
    }
    return 0;
}

static void free_pyramid(pyramid *p)
{
    for (i64 i = 0; i < p->n_gauss; i++) {
        if (p->gauss) free(p->gauss[i]);
        if (p->band) free(p->band[i]);
        if (p->mask) free(p->mask[i]);
        if (p->pooled) free(p->pooled[i]);
        if (p->vert) lerp_free(&p->vert[i]);
        if (p->horz) lerp_free(&p->horz[i]);
    }
    free(p->h);
    free(p->w);
    free(p->ls);
    free(p->gauss);
    free(p->band);
    free(p->mask);
    free(p->pooled);
    free(p->support);
    if (p->ones) free(p->ones[0]);
    free(p->ones);
    free(p->vert);
    free(p->horz);
}

/* h rows of stride ls floats, the PAD floats after each row's w C zeroed */
static float *level_buffer(i64 h, i64 ls, i64 used)
{
    float *b = malloc(sizeof(float) * h * ls);
    if (b)
        for (i64 y = 0; y < h; y++) memset(b + y * ls + used, 0, sizeof(float) * (ls - used));
    return b;
}

/* Sizes, interpolation tables and buffers of the n_gauss levels; 0, or 1 out of memory. */
static int alloc_pyramid(pyramid *p, i64 C, i64 H, i64 W)
{
    i64 n = p->n_gauss;
    p->h = calloc(n, sizeof(i64));
    p->w = calloc(n, sizeof(i64));
    p->ls = calloc(n, sizeof(i64));
    p->gauss = calloc(n, sizeof(float *));
    p->band = calloc(n, sizeof(float *));
    p->mask = calloc(n, sizeof(float *));
    p->pooled = calloc(n, sizeof(float *));
    p->support = calloc(n, sizeof(box));
    p->ones = calloc(n, sizeof(i64 *));
    p->vert = calloc(n, sizeof(lerp));
    p->horz = calloc(n, sizeof(lerp));
    if (!p->h || !p->w || !p->ls || !p->gauss || !p->band || !p->mask || !p->pooled
        || !p->support || !p->ones || !p->vert || !p->horz
        || !(p->ones[0] = calloc(4 * H + 2 * n, sizeof(i64))))
        return 1;
    for (i64 i = 0; i < n; i++) {
        i64 h = p->h[i] = i ? (p->h[i - 1] + 1) / 2 : H;
        i64 w = p->w[i] = i ? (p->w[i - 1] + 1) / 2 : W;
        i64 ls = p->ls[i] = w * C + PAD;
        if (i == 0) continue;
        p->ones[i] = p->ones[i - 1] + 2 * p->h[i - 1];
        if (lerp_init(&p->vert[i], h, p->h[i - 1]) || lerp_init(&p->horz[i], w, p->w[i - 1])
            || !(p->gauss[i] = level_buffer(h, ls, w * C)))
            return 1;
        if (i < p->n_face && (!(p->band[i] = level_buffer(h, ls, w * C))
                              || !(p->mask[i] = malloc(sizeof(float) * (h * w + 8)))
                              || !(p->pooled[i] = malloc(sizeof(float) * h * w))))
            return 1;
    }
    return 0;
}

/* See mbb_blend in _mbb_kernel.c. */
int MBB_CAT(mbb_blend, MBB_VARIANT)(const float *source, const i64 *s_strides,
                                    const float *target, const i64 *t_strides,
                                    const float *mask, const i64 *m_strides, float *out,
                                    const i64 *o_strides, i64 B, i64 C, i64 H, i64 W,
                                    i64 levels, i64 face_levels, const float *taps, i64 r,
                                    int threads)
{
    pyramid p;
    memset(&p, 0, sizeof(p));
    p.C = C;
    p.n_face = face_levels;
    p.n_gauss = imin(levels, face_levels + 1);
    float *flat_mask = NULL;
    int err = 1;
    if (alloc_pyramid(&p, C, H, W)) goto done;
    if (m_strides[3] != 1 && !(flat_mask = malloc(sizeof(float) * H * W))) goto done;
    for (i64 b = 0; b < B; b++) {
        image s = {(float *)source + b * s_strides[0], s_strides[1], s_strides[2], s_strides[3]};
        image t = {(float *)target + b * t_strides[0], t_strides[1], t_strides[2], t_strides[3]};
        image o = {out + b * o_strides[0], o_strides[1], o_strides[2], o_strides[3]};
        p.s = s;
        p.t = t;
        p.o = o;
        const float *m = mask + b * m_strides[0];
        i64 ms = m_strides[2];
        if (flat_mask) {
            for (i64 y = 0; y < H; y++)
                for (i64 x = 0; x < W; x++) flat_mask[y * W + x] = m[y * ms + x * m_strides[3]];
            m = flat_mask;
            ms = W;
        }
        if (level_masks(&p, m, ms, taps, r, threads)) goto done;
        p.finite = 0;  /* without pass A (one level): diff is not known to be finite */
        if (p.n_gauss > 1) {
            int flags = parallel_rows(pass_a_rows, &p, p.h[1], W * C * 6, threads);
            if (flags & FAILED) goto done;
            p.finite = !(flags & NONFINITE);
        }
        for (i64 i = 2; i < p.n_gauss; i++) {
            level_job job = {&p, i};
            int flags = parallel_rows(down_rows, &job, p.h[i], p.w[i - 1] * C * 3, threads);
            if (flags & FAILED) goto done;
            p.finite &= !(flags & NONFINITE);
        }
        for (i64 i = p.n_face - 1; i >= 0; i--) {
            level_job job = {&p, i};
            if (parallel_rows(expand_rows, &job, p.h[i], p.w[i] * C * 4, threads) & FAILED)
                goto done;
        }
    }
    err = 0;
done:
    free(flat_mask);
    free_pyramid(&p);
    return err;
}
