/* The multi-band blend of faceswap_vfx.core.blend (Naruniec et al. 2020, Algorithm 1) for
 * float32 CPU images, in two passes over the full-resolution pixels.
 *
 * It does the torch path's arithmetic in the same order, each product and sum rounded to
 * float32 (built without -ffast-math and with -ffp-contract=off: no FMA, no reordering):
 *   diff = source - target and its Gaussian pyramid (5-tap binomial, edges replicated,
 *   sizes halving rounding up); level masks (area averages, Gaussian blur, clamp to
 *   [0, 1]); out = target + collapse(m_i * (G_i - up(G_i+1))), up bilinear (+0.5 centres).
 * The mask is read once for level 1's average and the masks' supports; pass A reads
 * source and target for G_1; pass B reads them again with the mask and writes the output
 * row by row (band 0, the collapse's last step, + target). The coarser levels (1/3 of the
 * pixels) live in buffers. Work that cannot change a value is skipped: outside a level
 * mask's support (where it is 0) the band is 0, so pass B reads neither the source nor G_1
 * there, unless the inputs hold an Inf or NaN (then every pixel is computed, for the torch
 * path's NaN); and where the blur's window holds only 1s its result is a known constant.
 *
 * No Python API: loaded with ctypes by faceswap_vfx/core/blend_kernel.py. The
 * implementation (the headers in _mbb/) is compiled twice: here for the baseline instruction
 * set and in _mbb_kernel_avx2.c for AVX2, picked at run time; both give the same bits.
 */

#include <stdint.h>

#define MBB_VARIANT baseline
#define VW 4
#include "_mbb/kernel.h"

#ifdef _WIN32
#define MBB_EXPORT __declspec(dllexport)
#else
#define MBB_EXPORT __attribute__((visibility("default")))
#endif

#define MBB_ABI_VERSION 2

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define MBB_HAS_AVX2_BUILD 1
int mbb_blend_avx2(const float *, const i64 *, const float *, const i64 *, const float *,
                   const i64 *, float *, const i64 *, i64, i64, i64, i64, i64, i64,
                   const float *, i64, int);
#endif

enum { ISA_AUTO, ISA_BASELINE, ISA_AVX2 };

MBB_EXPORT int mbb_abi_version(void) { return MBB_ABI_VERSION; }

/* The instruction set mbb_blend uses for ISA_AUTO: ISA_BASELINE or ISA_AVX2. */
MBB_EXPORT int mbb_best_isa(void)
{
#ifdef MBB_HAS_AVX2_BUILD
    if (__builtin_cpu_supports("avx2")) return ISA_AVX2;
#endif
    return ISA_BASELINE;
}

/* out = multiband_blend(source, target, mask) for float32 (B, C, H, W) tensors given by
 * pointer and element strides (b, c, y, x); mask (B, 1, H, W) (its c stride unused). out
 * may be target or source itself (the same pointer and strides: pass B reads each of
 * their pixels before it writes that pixel, and nothing reads them after), but must not
 * overlap them otherwise, nor the mask (pass B blurs its rows). levels: n of the pyramid; face_levels: n - plate_levels,
 * in [1, levels]. taps: the 2 r + 1 Gaussian taps of the level masks (r == 0: no blur).
 * threads: at most this many. isa: ISA_AUTO, ISA_BASELINE or ISA_AVX2.
 * Returns 0; 1: out of memory; 2: bad arguments; 3: isa not available here. */
MBB_EXPORT int mbb_blend(const float *source, const i64 *s_strides, const float *target,
                         const i64 *t_strides, const float *mask, const i64 *m_strides,
                         float *out, const i64 *o_strides, i64 B, i64 C, i64 H, i64 W,
                         i64 levels, i64 face_levels, const float *taps, i64 r, int threads,
                         int isa)
{
    if (B < 1 || C < 1 || H < 1 || W < 1 || face_levels < 1 || face_levels > levels || r < 0)
        return 2;
    if (isa == ISA_AUTO) isa = mbb_best_isa();
    if (isa == ISA_AVX2 && mbb_best_isa() != ISA_AVX2) return 3;
#ifdef MBB_HAS_AVX2_BUILD
    if (isa == ISA_AVX2)
        return mbb_blend_avx2(source, s_strides, target, t_strides, mask, m_strides, out,
                              o_strides, B, C, H, W, levels, face_levels, taps, r, threads);
#endif
    if (isa != ISA_BASELINE) return 3;
    return mbb_blend_baseline(source, s_strides, target, t_strides, mask, m_strides, out,
                              o_strides, B, C, H, W, levels, face_levels, taps, r, threads);
}
