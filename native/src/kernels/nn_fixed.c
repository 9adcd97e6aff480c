/* Integer exp, tanh and square root of the fixed-point non-neural kernels. Line for line the
 * numpy/numba versions in runtime/kernels/nonneural_intmath.py, so all backends agree. */
#include "nn_common.h"

#define ONE_Q30 ((int64_t)1 << 30)
#define LOG2E_Q30 1549082005LL
#define LN2_Q30 744261118LL
#define TAYLOR_TERMS 12

int64_t nn_exp_q24(int64_t z)
{
    if (z < 0) z = 0;
    if (z > (64LL << 16)) z = 64LL << 16;
    int64_t y = (z * LOG2E_Q30) >> 30;        /* z log2(e) in Q16, y >= 0 */
    int64_t n = y >> 16;
    if (n > 40) n = 40;
    int64_t r = ((y & 0xFFFF) * LN2_Q30) >> 16; /* Q30, in [0, ln 2) */
    int64_t p = ONE_Q30;
    for (int64_t k = TAYLOR_TERMS; k > 0; k--) p = ONE_Q30 - ((r * p) >> 30) / k;  /* r p >= 0 */
    return (p + ((int64_t)1 << (n + 5))) >> (n + 6);
}

int64_t nn_tanh_q24(int64_t u)
{
    int64_t a = u < 0 ? -u : u;
    if (a > (32LL << 16)) a = 32LL << 16;
    int64_t t = nn_exp_q24(2 * a);
    int64_t v = (((1LL << 24) - t) << 24) / ((1LL << 24) + t);
    return u < 0 ? -v : (u > 0 ? v : 0);
}

int64_t nn_isqrt(int64_t n)
{
    int64_t root = 0, bit = (int64_t)1 << 62;
    if (n <= 0) return 0;
    while (bit > n) bit >>= 2;
    while (bit) {
        if (n >= root + bit) {
            n -= root + bit;
            root = (root >> 1) + bit;
        } else {
            root >>= 1;
        }
        bit >>= 2;
    }
    return root;
}
