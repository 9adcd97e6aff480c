/* TFLite int8 CONV_2D and DEPTHWISE_CONV_2D (TFLM reference arithmetic, bit-exact).
 *
 * acc = bias + sum w * (x - zp_in) over the taps inside the image. The importer folds the
 * zero-point term into input 3, bias_zp = bias - zp_in * sum(w), so acc = bias_zp + sum w * v
 * where v is the input, or zp_in for a tap outside the image (TFLM skips those taps: same
 * value). CONV_2D is a matrix product [pixels x K] . [K x C_out] with K = KH*KW*C_in (the
 * importer stores filters as [KH, KW, C_in, C_out], so a row of K is C_out contiguous
 * weights that tiles of 4 pixels x 16 channels consume in vector registers). A 1x1 unpadded
 * conv reads its K values straight from the input; any other gathers each pixel's window into
 * a buffer of 4 pixels x K bytes: on the stack up to K = GATHER_STACK (no arena cost), else in
 * node scratch (the importer asks for it). */
#include <stddef.h>
#include <string.h>
#include "ert_kernels.h"
#include "tflite_common.h"

#define OC_BLOCK 64   /* output channels accumulated at once (stack buffers) */
#define PIX_BLOCK 4   /* output pixels sharing each filter row */
#define GATHER_STACK 512  /* largest window gathered on the stack (keep in step with the importer) */

typedef struct {
    tfl_geom g;
    tfl_requant q;
    const int8_t *x, *w;
    const int32_t *bias_zp;
    int8_t *y;
    int8_t *scratch;       /* CONV_2D window gather buffer in node scratch, NULL if on the stack or not needed */
} conv_args;

/* A 1x1 conv without padding reads each pixel's C_in values in place. */
static int conv_direct(const tfl_geom *g)
{
    return g->kh == 1 && g->kw == 1 && g->ph == 0 && g->pw == 0 &&
           (int64_t)(g->oh - 1) * g->sh < g->h && (int64_t)(g->ow - 1) * g->sw < g->w;
}

static ert_status conv_args_get(ert_ctx *ctx, uint32_t node, int kind, conv_args *a)
{
    ert_status s;
    ert_tensor t;
    if ((s = tfl_geom_get(ctx, node, kind, ERT_INT8, &a->g)) != ERT_OK) return s;
    if ((s = tfl_requant_get(ctx, node, (uint32_t)a->g.cout, &a->q)) != ERT_OK) return s;
    a->x = ert_input(ctx, node, 0, &t);
    a->w = ert_input(ctx, node, 1, &t);
    a->y = ert_output(ctx, node, 0, &t);
    a->bias_zp = tfl_bias(ctx, node, 3, (uint32_t)a->g.cout,
                          (int64_t)a->g.kh * a->g.kw * (kind == TFL_CONV ? a->g.cin : 1));
    if (!a->bias_zp)
        return ert_fail(ctx, node, ERT_E_SHAPE, "input 3 (bias_zp) must be int32[C_out], small enough "
                        "that the window's products cannot overflow the int32 accumulator");
    a->scratch = NULL;
    if (kind == TFL_CONV && !conv_direct(&a->g) && (int64_t)a->g.kh * a->g.kw * a->g.cin > GATHER_STACK) {
        uint32_t size;
        a->scratch = ert_scratch(ctx, node, &size);
        if (!a->scratch || (uint64_t)size < (uint64_t)PIX_BLOCK * a->g.kh * a->g.kw * a->g.cin)
            return ert_fail(ctx, node, ERT_E_SHAPE, "CONV_2D with KH x KW x C_in > 512 needs 4 x that many bytes of node scratch");
    }
    return ERT_OK;
}

ert_status ert_check_int8_conv2d(ert_ctx *ctx, uint32_t node)
{
    conv_args a = {0};
    return conv_args_get(ctx, node, TFL_CONV, &a);
}

ert_status ert_check_int8_depthwise(ert_ctx *ctx, uint32_t node)
{
    conv_args a = {0};
    return conv_args_get(ctx, node, TFL_DEPTHWISE, &a);
}

/* The K = KH*KW*C_in window of output pixel (n, oy, ox), taps outside the image = zp_in. */
static void gather_window(const conv_args *a, size_t pixel, int8_t *dst)
{
    const tfl_geom *g = &a->g;
    const int32_t ox = (int32_t)(pixel % (size_t)g->ow), oy = (int32_t)(pixel / (size_t)g->ow % (size_t)g->oh);
    const size_t n = pixel / ((size_t)g->ow * g->oh);
    const int32_t iy0 = oy * g->sh - g->ph, ix0 = ox * g->sw - g->pw;
    for (int32_t ky = 0; ky < g->kh; ky++) {
        int32_t iy = iy0 + ky * g->dh;
        for (int32_t kx = 0; kx < g->kw; kx++, dst += g->cin) {
            int32_t ix = ix0 + kx * g->dw;
            if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) {
                for (int32_t c = 0; c < g->cin; c++) dst[c] = (int8_t)a->q.zp_in;
            } else {
                const int8_t *src = a->x + ((n * g->h + iy) * g->w + ix) * g->cin;
                for (int32_t c = 0; c < g->cin; c++) dst[c] = src[c];
            }
        }
    }
}

/* acc[j][i] = sum_k p_j[k] * w[k][i] for 4 pixels j and W = 16 or 8 channels. With GCC's
 * generic vectors the accumulators are explicit int32 vectors (lowered to whatever SIMD the
 * target has, scalar code on cores without any); the plain loop is the same arithmetic. */
#if defined(__GNUC__)
#define GEMM_TILE(W)                                                                              \
    typedef int32_t v##W##i32 __attribute__((vector_size(4 * W)));                               \
    typedef int8_t v##W##i8 __attribute__((vector_size(W), aligned(1), may_alias));                \
    typedef int16_t v##W##i16 __attribute__((vector_size(2 * W)));                               \
    TFL_INLINE void gemm_tile##W(const int8_t *const rows[PIX_BLOCK], const int8_t *w, int32_t k_len,   \
                             int32_t cout, int32_t *acc, int32_t stride)                          \
    {                                                                                             \
        v##W##i32 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};                                         \
        for (int32_t k = 0; k < k_len; k++) {                                                     \
            v##W##i16 wh = __builtin_convertvector(*(const v##W##i8 *)(w + (size_t)k * cout), v##W##i16); \
            v##W##i32 wv = __builtin_convertvector(wh, v##W##i32);  /* two 2x widenings vectorise */ \
            a0 += (int32_t)rows[0][k] * wv;                                                       \
            a1 += (int32_t)rows[1][k] * wv;                                                       \
            a2 += (int32_t)rows[2][k] * wv;                                                       \
            a3 += (int32_t)rows[3][k] * wv;                                                       \
        }                                                                                         \
        memcpy(acc, &a0, 4 * W);                                                                  \
        memcpy(acc + stride, &a1, 4 * W);                                                         \
        memcpy(acc + 2 * stride, &a2, 4 * W);                                                     \
        memcpy(acc + 3 * stride, &a3, 4 * W);                                                     \
    }
#else
#define GEMM_TILE(W)                                                                              \
    TFL_INLINE void gemm_tile##W(const int8_t *const rows[PIX_BLOCK], const int8_t *w, int32_t k_len,   \
                             int32_t cout, int32_t *acc, int32_t stride)                          \
    {                                                                                             \
        gemm_tile_n(rows, w, k_len, cout, W, acc, stride);                                        \
    }
#endif

/* Any width (the channel tail): plain loops. */
TFL_INLINE void gemm_tile_n(const int8_t *const rows[PIX_BLOCK], const int8_t *w, int32_t k_len, int32_t cout,
                            int32_t width, int32_t *acc, int32_t stride)
{
    for (int32_t j = 0; j < PIX_BLOCK; j++)
        for (int32_t i = 0; i < width; i++) acc[j * stride + i] = 0;
    for (int32_t k = 0; k < k_len; k++)
        for (int32_t j = 0; j < PIX_BLOCK; j++)
            for (int32_t i = 0; i < width; i++) acc[j * stride + i] += rows[j][k] * w[(size_t)k * cout + i];
}

GEMM_TILE(16)
GEMM_TILE(8)

/* row[i] += w[i] * x[i] for nb channels (depthwise taps); explicit 8-lane vectors for short rows. */
#if defined(__GNUC__)
#define MAC_LANES(W)                                                                              \
    for (; i + W <= nb; i += W) {                                                                 \
        v##W##i32 r;                                                                              \
        memcpy(&r, row + i, sizeof r);                                                            \
        r += __builtin_convertvector(__builtin_convertvector(*(const v##W##i8 *)(w + i), v##W##i16), v##W##i32) * \
             __builtin_convertvector(__builtin_convertvector(*(const v##W##i8 *)(x + i), v##W##i16), v##W##i32);  \
        memcpy(row + i, &r, sizeof r);                                                            \
    }
#else
#define MAC_LANES(W)
#endif

TFL_INLINE void mac_row(int32_t *restrict row, const int8_t *restrict w, const int8_t *restrict x, int32_t nb)
{
    int32_t i = 0;
    if (nb < 16) {   /* too short for the compiler's own vector loop */
        MAC_LANES(8)
    }
    for (; i < nb; i++) row[i] += w[i] * x[i];
}

/* Per-channel parameters repeated for PIX_BLOCK pixels, so that a layer with at most OC_BLOCK
 * channels requantizes a whole block of pixels (contiguous in the output) in one call. */
typedef struct {
    int32_t bias[PIX_BLOCK * OC_BLOCK], mult[PIX_BLOCK * OC_BLOCK], shift[PIX_BLOCK * OC_BLOCK];
} pixel_params;

/* The per-channel parameters repeated for PIX_BLOCK pixels (layers of <= OC_BLOCK channels). */
static void repeat_params(const conv_args *a, pixel_params *rep)
{
    for (int32_t i = 0; i < PIX_BLOCK * a->g.cout; i++) {
        rep->bias[i] = a->bias_zp[i % a->g.cout];
        rep->mult[i] = a->q.mult[i % a->g.cout];
        rep->shift[i] = a->q.shift[i % a->g.cout];
    }
}

/* All output channels of 4 pixels, OC_BLOCK channels at a time in tiles of 16, 8, then 1;
 * only the `valid` first pixels are written. */
TFL_HOT static void conv_pixels(const conv_args *a, const pixel_params *rep, const int8_t *const rows[PIX_BLOCK],
                                int8_t *out, size_t valid)
{
    const tfl_geom *g = &a->g;
    const int32_t k_len = g->kh * g->kw * g->cin, cout = g->cout;
    int32_t acc[PIX_BLOCK * OC_BLOCK];
    for (int32_t c0 = 0; c0 < cout; c0 += OC_BLOCK) {
        const int32_t nb = cout - c0 < OC_BLOCK ? cout - c0 : OC_BLOCK;
        for (int32_t oc0 = 0; oc0 < nb;) {
            int32_t width = nb - oc0 >= 16 ? 16 : nb - oc0 >= 8 ? 8 : 1;
            const int8_t *w = a->w + c0 + oc0;
            if (width == 16) gemm_tile16(rows, w, k_len, cout, acc + oc0, nb);
            else if (width == 8) gemm_tile8(rows, w, k_len, cout, acc + oc0, nb);
            else gemm_tile_n(rows, w, k_len, cout, 1, acc + oc0, nb);
            oc0 += width;
        }
        if (rep) {   /* nb == cout: the block's outputs are contiguous */
            const int32_t n = (int32_t)valid * cout;
            for (int32_t i = 0; i < n; i++) acc[i] += rep->bias[i];
            tfl_requant_row(acc, out, n, rep->mult, rep->shift, a->q.zp_out, a->q.act_min, a->q.act_max);
            continue;
        }
        for (size_t j = 0; j < valid; j++) {
            int32_t *row = acc + j * nb;
            for (int32_t i = 0; i < nb; i++) row[i] += a->bias_zp[c0 + i];
            tfl_requant_row(row, out + j * cout + c0, nb, a->q.mult + c0, a->q.shift + c0,
                            a->q.zp_out, a->q.act_min, a->q.act_max);
        }
    }
}

#if defined(TFL_X86_VNNI)
#define VNNI_K_MAX 4096     /* window length (rounded up to 4) */
#define VNNI_PIX 8          /* output pixels per block: 8 accumulators of 16 channels */
#define VNNI_W_TILES 16     /* channel tiles packed at once: 16 x 16 x VNNI_K_MAX bytes at most */
#define VNNI_W_BYTES 65536  /* stack for packed filters (host stacks are MBs) */

/* Output pixel coordinates, stepped in row-major order (a division per pixel cost as much
 * as a sixth of a window's dot products). */
typedef struct {
    size_t n;
    int32_t oy, ox;
} pixel_pos;

static pixel_pos pixel_at(const tfl_geom *g, size_t pixel)
{
    pixel_pos p = {pixel / ((size_t)g->ow * g->oh), (int32_t)(pixel / (size_t)g->ow % (size_t)g->oh),
                   (int32_t)(pixel % (size_t)g->ow)};
    return p;
}

static void pixel_next(const tfl_geom *g, pixel_pos *p)
{
    if (++p->ox < g->ow) return;
    p->ox = 0;
    if (++p->oy < g->oh) return;
    p->oy = 0;
    p->n++;
}

/* The window of output pixel p shifted to x + 128 (unsigned bytes), taps outside the image
 * zp_in + 128, padded with zeros to k4 bytes (those taps have zero weights). */
TFL_VNNI static void gather_flipped(const conv_args *a, pixel_pos p, uint8_t *dst, int32_t k4)
{
    const tfl_geom *g = &a->g;
    const int32_t ox = p.ox, oy = p.oy;
    const size_t n = p.n;
    const int32_t iy0 = oy * g->sh - g->ph, ix0 = ox * g->sw - g->pw;
    uint8_t *d = dst;
    for (int32_t ky = 0; ky < g->kh; ky++) {
        const int32_t iy = iy0 + ky * g->dh;
        if (g->dw == 1 && iy >= 0 && iy < g->h && ix0 >= 0 && ix0 + g->kw <= g->w) {   /* one contiguous run */
            const int8_t *src = a->x + ((n * g->h + iy) * g->w + ix0) * g->cin;
            const int32_t len = g->kw * g->cin;
            for (int32_t c = 0; c < len; c++) d[c] = (uint8_t)(src[c] ^ 0x80);
            d += len;
            continue;
        }
        for (int32_t kx = 0; kx < g->kw; kx++, d += g->cin) {
            const int32_t ix = ix0 + kx * g->dw;
            if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) {
                for (int32_t c = 0; c < g->cin; c++) d[c] = (uint8_t)(a->q.zp_in + 128);
            } else {
                const int8_t *src = a->x + ((n * g->h + iy) * g->w + ix) * g->cin;
                for (int32_t c = 0; c < g->cin; c++) d[c] = (uint8_t)(src[c] ^ 0x80);
            }
        }
    }
    while (d < dst + k4) *d++ = 0;
}

/* 16 output channels from c0 of filter rows k .. k+3, interleaved as vpdpbusd wants them
 * (channel-major groups of 4 taps); rows past k_len and channels past C_out are zero. */
TFL_VNNI static __m512i pack_taps(const conv_args *a, int32_t k, int32_t k_len, int32_t c0, __mmask16 cm)
{
    __m128i r[4];
    for (int32_t t = 0; t < 4; t++)
        r[t] = k + t < k_len ? _mm_maskz_loadu_epi8(cm, a->w + (size_t)(k + t) * a->g.cout + c0) : _mm_setzero_si128();
    const __m128i t0 = _mm_unpacklo_epi8(r[0], r[1]), t1 = _mm_unpackhi_epi8(r[0], r[1]);
    const __m128i t2 = _mm_unpacklo_epi8(r[2], r[3]), t3 = _mm_unpackhi_epi8(r[2], r[3]);
    __m512i v = _mm512_castsi128_si512(_mm_unpacklo_epi16(t0, t2));
    v = _mm512_inserti32x4(v, _mm_unpackhi_epi16(t0, t2), 1);
    v = _mm512_inserti32x4(v, _mm_unpacklo_epi16(t1, t3), 2);
    return _mm512_inserti32x4(v, _mm_unpackhi_epi16(t1, t3), 3);
}

#define VNNI_DOT(j) acc##j = _mm512_dpbusd_epi32(acc##j, _mm512_set1_epi32(rd4(rows[j] + 4 * q)), wq)

static inline int32_t rd4(const uint8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* CONV_2D as conv_pixels computes it, in blocks of 8 pixels x 16 output channels, with the
 * windows shifted to x + 128 (unsigned bytes for vpdpbusd) and 128 * sum(w) taken off the
 * bias. Filters are packed for groups of channel tiles that fit the stack buffer; each
 * group gathers the windows again. Returns 0 (nothing written) for windows over VNNI_K_MAX. */
TFL_VNNI static int conv_vnni(const conv_args *a)
{
    const tfl_geom *g = &a->g;
    const int32_t k_len = g->kh * g->kw * g->cin, k4 = (k_len + 3) & ~3, quads = k4 / 4;
    const int32_t tiles = (g->cout + 15) / 16, fit = VNNI_W_BYTES / (64 * quads);
    const int32_t per_group = fit < VNNI_W_TILES ? fit : VNNI_W_TILES;
    const size_t pixels = (size_t)g->n * g->oh * g->ow;
    if (k4 > VNNI_K_MAX) return 0;
    uint8_t windows[VNNI_PIX * VNNI_K_MAX];
    __m512i wp[VNNI_W_BYTES / 64];
    __m512i corr[VNNI_W_TILES];
    requant16 rq[VNNI_W_TILES];
    for (int32_t t0 = 0; t0 < tiles; t0 += per_group) {
        const int32_t t1 = t0 + per_group < tiles ? t0 + per_group : tiles;
        for (int32_t t = t0; t < t1; t++) {
            const int32_t c0 = 16 * t, nb = g->cout - c0 < 16 ? g->cout - c0 : 16;
            const __mmask16 cm = (__mmask16)((1u << nb) - 1u);
            __m512i wsum = _mm512_setzero_si512(), *w = wp + (size_t)(t - t0) * quads;
            for (int32_t q = 0; q < quads; q++) {
                w[q] = pack_taps(a, 4 * q, k_len, c0, cm);
                wsum = _mm512_dpbusd_epi32(wsum, _mm512_set1_epi8((char)0x80), w[q]);
            }
            corr[t - t0] = _mm512_sub_epi32(_mm512_maskz_loadu_epi32(cm, a->bias_zp + c0), wsum);
            rq[t - t0] = requant16_get(&a->q, c0, cm);
        }
        for (size_t p0 = 0; p0 < pixels; p0 += VNNI_PIX) {
            const size_t valid = pixels - p0 < VNNI_PIX ? pixels - p0 : VNNI_PIX;
            const uint8_t *rows[VNNI_PIX];
            pixel_pos pos = pixel_at(g, p0);
            for (size_t j = 0; j < VNNI_PIX; j++) {   /* the tail repeats its last pixel */
                rows[j] = windows + (j < valid ? j : valid - 1) * (size_t)k4;
                if (j < valid) gather_flipped(a, pos, windows + j * (size_t)k4, k4);
                pixel_next(g, &pos);
            }
            for (int32_t t = t0; t < t1; t++) {
                const __m512i *w = wp + (size_t)(t - t0) * quads;
                __m512i acc0 = corr[t - t0], acc1 = acc0, acc2 = acc0, acc3 = acc0, acc4 = acc0, acc5 = acc0,
                        acc6 = acc0, acc7 = acc0;
                for (int32_t q = 0; q < quads; q++) {
                    const __m512i wq = w[q];
                    VNNI_DOT(0); VNNI_DOT(1); VNNI_DOT(2); VNNI_DOT(3);
                    VNNI_DOT(4); VNNI_DOT(5); VNNI_DOT(6); VNNI_DOT(7);
                }
                const __m512i accs[VNNI_PIX] = {acc0, acc1, acc2, acc3, acc4, acc5, acc6, acc7};
                for (size_t j = 0; j < valid; j++) requant16_store(&rq[t - t0], accs[j], a->y + (p0 + j) * g->cout + 16 * t);
            }
        }
    }
    return 1;
}

/* Two vectors of 16 int32 holding int8 values as int16 pairs (lo in the low half): the
 * operand layout of vpdpwssd. */
TFL_VNNI static inline __m512i pair16(__m128i lo, __m128i hi)
{
    return _mm512_or_si512(_mm512_and_si512(_mm512_cvtepi8_epi32(lo), _mm512_set1_epi32(0xFFFF)),
                           _mm512_slli_epi32(_mm512_cvtepi8_epi32(hi), 16));
}

/* DEPTHWISE_CONV_2D (multiplier 1) as depthwise_pixels computes it, 16 channels per vector,
 * two taps per vpdpwssd (an odd last tap pairs with a zero weight). Filters are packed once
 * per call; returns 0 (nothing written) when they do not fit the stack buffer. */
TFL_VNNI static int depthwise_vnni(const conv_args *a)
{
    const tfl_geom *g = &a->g;
    const int32_t taps = g->kh * g->kw, pairs = (taps + 1) / 2, chunks = (g->cout + 15) / 16;
    if (g->mult != 1 || (int64_t)pairs * chunks * 64 > VNNI_W_BYTES) return 0;
    __m512i wp[VNNI_W_BYTES / 64];
    int8_t zp16[16];
    memset(zp16, a->q.zp_in, sizeof zp16);
    for (int32_t ch = 0; ch < chunks; ch++) {
        const int32_t c0 = 16 * ch, nb = g->cout - c0 < 16 ? g->cout - c0 : 16;
        const __mmask16 cm = (__mmask16)((1u << nb) - 1u);
        for (int32_t pr = 0; pr < pairs; pr++) {
            const int32_t t = 2 * pr;
            const __m128i w0 = _mm_maskz_loadu_epi8(cm, a->w + (size_t)t * g->cout + c0);
            const __m128i w1 = t + 1 < taps ? _mm_maskz_loadu_epi8(cm, a->w + (size_t)(t + 1) * g->cout + c0) : _mm_setzero_si128();
            wp[ch * pairs + pr] = pair16(w0, w1);
        }
    }
    for (int32_t n = 0; n < g->n; n++)
        for (int32_t oy = 0; oy < g->oh; oy++)
            for (int32_t ox = 0; ox < g->ow; ox++) {
                int8_t *out = a->y + (((size_t)n * g->oh + oy) * g->ow + ox) * g->cout;
                for (int32_t ch = 0; ch < chunks; ch++) {
                    const int32_t c0 = 16 * ch, nb = g->cout - c0 < 16 ? g->cout - c0 : 16;
                    const __mmask16 cm = (__mmask16)((1u << nb) - 1u);
                    const __m512i *w = wp + (size_t)ch * pairs;
                    __m512i acc = _mm512_maskz_loadu_epi32(cm, a->bias_zp + c0);
                    const int8_t *pending = NULL;
                    for (int32_t ky = 0; ky < g->kh; ky++) {
                        const int32_t iy = oy * g->sh - g->ph + ky * g->dh;
                        for (int32_t kx = 0; kx < g->kw; kx++) {
                            const int32_t ix = ox * g->sw - g->pw + kx * g->dw;
                            const int8_t *src = iy < 0 || iy >= g->h || ix < 0 || ix >= g->w ? zp16
                                : a->x + (((size_t)n * g->h + iy) * g->w + ix) * g->cin + c0;
                            if (!pending) {
                                pending = src;
                                continue;
                            }
                            acc = _mm512_dpwssd_epi32(acc, pair16(_mm_maskz_loadu_epi8(cm, pending), _mm_maskz_loadu_epi8(cm, src)), *w++);
                            pending = NULL;
                        }
                    }
                    if (pending) {
                        const __m128i v = _mm_maskz_loadu_epi8(cm, pending);
                        acc = _mm512_dpwssd_epi32(acc, pair16(v, v), *w);
                    }
                    const requant16 rq = requant16_get(&a->q, c0, cm);
                    requant16_store(&rq, acc, out + c0);
                }
            }
    return 1;
}
#endif

ert_status ert_k_int8_conv2d(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    conv_args a = {0};
    ert_status s = conv_args_get(ctx, node, TFL_CONV, &a);
    const tfl_geom *g = &a.g;
    int8_t stack_windows[PIX_BLOCK * GATHER_STACK];
    (void)activity;
    if (s != ERT_OK) return s;
#if defined(TFL_X86_VNNI)
    if (tfl_has_vnni() && conv_vnni(&a)) return ERT_OK;
#endif
    const int32_t k_len = g->kh * g->kw * g->cin;
    const size_t pixels = (size_t)g->n * g->oh * g->ow;
    int8_t *windows = a.scratch ? a.scratch : conv_direct(g) ? NULL : stack_windows;
    pixel_params rep;
    if (g->cout <= OC_BLOCK) repeat_params(&a, &rep);
    for (size_t p0 = 0; p0 < pixels; p0 += PIX_BLOCK) {
        const int8_t *rows[PIX_BLOCK];
        size_t valid = pixels - p0 < PIX_BLOCK ? pixels - p0 : PIX_BLOCK;
        for (size_t j = 0; j < PIX_BLOCK; j++) {
            size_t p = p0 + (j < valid ? j : valid - 1);   /* the tail repeats its last pixel */
            if (windows) {
                gather_window(&a, p, windows + j * (size_t)k_len);
                rows[j] = windows + j * (size_t)k_len;
            } else {
                size_t ox = p % (size_t)g->ow, oy = p / (size_t)g->ow % (size_t)g->oh, n = p / ((size_t)g->ow * g->oh);
                rows[j] = a.x + ((n * g->h + oy * (size_t)g->sh) * g->w + ox * (size_t)g->sw) * g->cin;
            }
        }
        conv_pixels(&a, g->cout <= OC_BLOCK ? &rep : NULL, rows, a.y + p0 * g->cout, valid);
    }
    return ERT_OK;
}

/* The W input channels at c of pixel (n, iy, ix), or zp_in (zp_row) when outside the image. */
TFL_INLINE const int8_t *dw_source(const conv_args *a, const int8_t *zp_row, size_t n, int32_t iy, int32_t ix, int32_t c)
{
    const tfl_geom *g = &a->g;
    if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) return zp_row;
    return a->x + ((n * g->h + iy) * g->w + ix) * g->cin + c;
}

/* Depthwise (multiplier 1), 4 pixels of a row from ox0, W channels from c, accumulators in
 * registers across the taps; pixels past the row end compute garbage that is never stored
 * to the output (their reads stay inside the image or on zp_row). */
#if defined(__GNUC__)
#define WIDEN(W, p) __builtin_convertvector(__builtin_convertvector(*(const v##W##i8 *)(p), v##W##i16), v##W##i32)
#define DW_TILE(W)                                                                                \
    TFL_INLINE void dw_tile##W(const conv_args *a, const int8_t *zp_row, size_t n, int32_t oy,     \
                               int32_t ox0, int32_t c, int32_t *acc, int32_t stride)              \
    {                                                                                             \
        const tfl_geom *g = &a->g;                                                                \
        v##W##i32 s0, s1, s2, s3;                                                                 \
        memcpy(&s0, a->bias_zp + c, sizeof s0);                                                   \
        s1 = s2 = s3 = s0;                                                                        \
        for (int32_t ky = 0; ky < g->kh; ky++) {                                                  \
            const int32_t iy = oy * g->sh - g->ph + ky * g->dh;                                   \
            for (int32_t kx = 0; kx < g->kw; kx++) {                                              \
                const int32_t ix = ox0 * g->sw - g->pw + kx * g->dw;                              \
                const v##W##i32 wv = WIDEN(W, a->w + ((size_t)ky * g->kw + kx) * g->cout + c);    \
                s0 += wv * WIDEN(W, dw_source(a, zp_row, n, iy, ix, c));                          \
                s1 += wv * WIDEN(W, dw_source(a, zp_row, n, iy, ix + g->sw, c));                  \
                s2 += wv * WIDEN(W, dw_source(a, zp_row, n, iy, ix + 2 * g->sw, c));              \
                s3 += wv * WIDEN(W, dw_source(a, zp_row, n, iy, ix + 3 * g->sw, c));              \
            }                                                                                     \
        }                                                                                         \
        memcpy(acc, &s0, sizeof s0);                                                              \
        memcpy(acc + stride, &s1, sizeof s1);                                                     \
        memcpy(acc + 2 * stride, &s2, sizeof s2);                                                 \
        memcpy(acc + 3 * stride, &s3, sizeof s3);                                                 \
    }
DW_TILE(16)
DW_TILE(8)
#endif

/* Depthwise, up to 4 output pixels of one row (ox0 .. ox0 + count - 1) for channels
 * c0 .. c0 + nb - 1: accumulate every tap (a tap outside the image reads zp_in for every
 * channel), then requantize. Narrow multiplier-1 layers take vector tiles of 16 and 8
 * channels, the rest the plain loops. With `rep` (all channels in one block) the pixels' outputs are
 * contiguous and requantized in one call. */
TFL_HOT static void depthwise_pixels(const conv_args *a, const pixel_params *rep, const int8_t *zp_row, size_t n,
                                     int32_t oy, int32_t ox0, int32_t count, int32_t c0, int32_t nb, int8_t *out)
{
    const tfl_geom *g = &a->g;
    const int32_t mult = g->mult, iy0 = oy * g->sh - g->ph;
    int32_t acc[PIX_BLOCK * OC_BLOCK];
    int32_t lo = 0;
#if defined(__GNUC__)
    if (mult == 1 && nb < 32) {   /* wider rows: the plain loop vectorises well and is faster */
        for (; lo + 16 <= nb; lo += 16) dw_tile16(a, zp_row, n, oy, ox0, c0 + lo, acc + lo, nb);
        for (; lo + 8 <= nb; lo += 8) dw_tile8(a, zp_row, n, oy, ox0, c0 + lo, acc + lo, nb);
    }
#endif
    for (int32_t j = 0; j < count; j++)
        for (int32_t i = lo; i < nb; i++) acc[j * nb + i] = a->bias_zp[c0 + i];
    for (int32_t ky = 0; ky < g->kh && lo < nb; ky++) {
        const int32_t iy = iy0 + ky * g->dh;
        for (int32_t kx = 0; kx < g->kw; kx++) {
            const int8_t *restrict wt = a->w + ((size_t)ky * g->kw + kx) * g->cout + c0;
            for (int32_t j = 0; j < count; j++) {
                const int32_t ix = (ox0 + j) * g->sw - g->pw + kx * g->dw;
                int32_t *restrict row = acc + j * nb;
                if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) {
                    mac_row(row + lo, wt + lo, zp_row, nb - lo);
                    continue;
                }
                const int8_t *restrict px = a->x + ((n * g->h + iy) * g->w + ix) * g->cin;
                if (mult == 1) {
                    mac_row(row + lo, wt + lo, px + c0 + lo, nb - lo);
                } else {
                    for (int32_t i = lo; i < nb; i++) row[i] += wt[i] * px[(c0 + i) / mult];
                }
            }
        }
    }
    if (rep) {
        tfl_requant_row(acc, out, count * nb, rep->mult, rep->shift, a->q.zp_out, a->q.act_min, a->q.act_max);
        return;
    }
    for (int32_t j = 0; j < count; j++)
        tfl_requant_row(acc + j * nb, out + (size_t)j * g->cout, nb, a->q.mult + c0, a->q.shift + c0,
                        a->q.zp_out, a->q.act_min, a->q.act_max);
}

ert_status ert_k_int8_depthwise(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    conv_args a = {0};
    ert_status s = conv_args_get(ctx, node, TFL_DEPTHWISE, &a);
    const tfl_geom *g = &a.g;
    pixel_params rep;
    int8_t zp_row[OC_BLOCK];
    (void)activity;
    if (s != ERT_OK) return s;
#if defined(TFL_X86_VNNI)
    if (tfl_has_vnni() && depthwise_vnni(&a)) return ERT_OK;
#endif
    for (int32_t i = 0; i < OC_BLOCK; i++) zp_row[i] = (int8_t)a.q.zp_in;
    if (g->cout <= OC_BLOCK) repeat_params(&a, &rep);
    for (int32_t n = 0; n < g->n; n++)
        for (int32_t oy = 0; oy < g->oh; oy++)
            for (int32_t ox = 0; ox < g->ow; ox += PIX_BLOCK) {
                int32_t count = g->ow - ox < PIX_BLOCK ? g->ow - ox : PIX_BLOCK;
                int8_t *out = a.y + (((size_t)n * g->oh + oy) * g->ow + ox) * g->cout;
                for (int32_t c0 = 0; c0 < g->cout; c0 += OC_BLOCK) {
                    int32_t nb = g->cout - c0 < OC_BLOCK ? g->cout - c0 : OC_BLOCK;
                    depthwise_pixels(&a, g->cout <= OC_BLOCK ? &rep : NULL, zp_row, (size_t)n, oy, ox, count, c0, nb, out + c0);
                }
            }
    return ERT_OK;
}
