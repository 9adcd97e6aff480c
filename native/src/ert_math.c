/* libm-free math (see ert_math.h). exp and log follow the classic fdlibm reductions with
 * their published minimax coefficients; sqrt is an exact digit-by-digit integer root. */
#include "ert_math.h"

typedef union { double d; uint64_t u; } bits64;

static const double LN2_HI = 6.93147180369123816490e-01; /* ln 2, trailing zeros: k*LN2_HI exact */
static const double LN2_LO = 1.90821492927058770002e-10;
static const double INV_LN2 = 1.44269504088896338700e+00;

static double from_bits(uint64_t u) { bits64 b; b.u = u; return b.d; }
static uint64_t to_bits(double d) { bits64 b; b.d = d; return b.u; }

double ert_inf(void) { return from_bits(0x7ff0000000000000ull); }
double ert_nan(void) { return from_bits(0x7ff8000000000000ull); }
int ert_isnan(double x) { return (to_bits(x) & 0x7fffffffffffffffull) > 0x7ff0000000000000ull; }
int ert_isinf(double x) { return (to_bits(x) & 0x7fffffffffffffffull) == 0x7ff0000000000000ull; }
double ert_fabs(double x) { return from_bits(to_bits(x) & 0x7fffffffffffffffull); }

/* y * 2^k for any k that keeps the result finite or flushes it to 0 / inf. */
static double scale2(double y, int k)
{
    while (k > 1023) { y *= from_bits(0x7fe0000000000000ull); k -= 1023; }
    while (k < -1022) { y *= from_bits(0x0010000000000000ull); k += 1022; }
    return y * from_bits((uint64_t)(k + 1023) << 52);
}

double ert_exp(double x)
{
    static const double P1 = 1.66666666666666019037e-01, P2 = -2.77777777770155933842e-03,
                        P3 = 6.61375632143793436117e-05, P4 = -1.65339022054652515390e-06,
                        P5 = 4.13813679705723846039e-08;
    if (ert_isnan(x)) return x;
    if (x > 709.782712893383973096) return ert_inf();
    if (x < -745.13321910194110842) return 0.0;
    if (ert_fabs(x) < 3.7252902984e-09) return 1.0 + x;
    int k = (int)(x * INV_LN2 + (x < 0 ? -0.5 : 0.5));
    double hi = x - k * LN2_HI, lo = k * LN2_LO, r = hi - lo;
    double t = r * r;
    double c = r - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
    double y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);
    return scale2(y, k);
}

double ert_log(double x)
{
    static const double L1 = 6.666666666666735130e-01, L2 = 3.999999999940941908e-01,
                        L3 = 2.857142874366239149e-01, L4 = 2.222219843214978396e-01,
                        L5 = 1.818357216161805012e-01, L6 = 1.531383769920937332e-01,
                        L7 = 1.479819860511658591e-01;
    if (ert_isnan(x)) return x;
    if (x < 0) return ert_nan();
    if (x == 0) return -ert_inf();
    if (ert_isinf(x)) return x;
    int k = 0;
    if (x < from_bits(0x0010000000000000ull)) { x *= 18014398509481984.0; k = -54; } /* subnormal */
    uint64_t u = to_bits(x);
    k += (int)((u >> 52) & 0x7ff) - 1023;
    double m = from_bits((u & 0x000fffffffffffffull) | 0x3ff0000000000000ull); /* [1, 2) */
    if (m > 1.41421356237309504880) { m *= 0.5; k += 1; }
    double f = m - 1.0, s = f / (2.0 + f), z = s * s;
    double R = z * (L1 + z * (L2 + z * (L3 + z * (L4 + z * (L5 + z * (L6 + z * L7))))));
    double hfsq = 0.5 * f * f;
    return k * LN2_HI - ((hfsq - (s * (hfsq + R) + k * LN2_LO)) - f);
}

double ert_sqrt(double x)
{
    if (ert_isnan(x) || x == 0 || (ert_isinf(x) && x > 0)) return x;
    if (x < 0) return ert_nan();
    uint64_t u = to_bits(x);
    int e = (int)((u >> 52) & 0x7ff);
    uint64_t m = u & 0x000fffffffffffffull;
    if (e == 0) { while (!(m & (1ull << 52))) { m <<= 1; e--; } e++; } /* normalize subnormal */
    else m |= 1ull << 52;
    int exp2 = e - 1075;            /* x = m * 2^exp2, m in [2^52, 2^53) */
    if (exp2 & 1) { m <<= 1; exp2--; }
    /* root = floor(sqrt(m * 2^54)): two radicand bits per step, 27 from m then 27 zero pairs */
    uint64_t rem = 0, root = 0;
    for (int i = 0; i < 54; i++) {
        uint64_t pair = i < 27 ? (m >> (52 - 2 * i)) & 3u : 0;
        rem = (rem << 2) | pair;
        uint64_t trial = (root << 2) | 1u;
        root <<= 1;
        if (rem >= trial) { rem -= trial; root |= 1u; }
    }
    uint64_t q = root >> 1;         /* 53 bits; the dropped bit rounds, rem is the sticky part */
    if ((root & 1u) && (rem != 0 || (q & 1u))) q++;
    int field = exp2 / 2 + 1049;
    if (q == (1ull << 53)) { q >>= 1; field++; }
    return from_bits(((uint64_t)field << 52) | (q & 0x000fffffffffffffull));
}

double ert_floor(double x)
{
    if (!(ert_fabs(x) < 4503599627370496.0)) return x;   /* >= 2^52, inf or NaN: integral */
    double t = (double)(int64_t)x;
    return t > x ? t - 1.0 : t;
}

double ert_rint(double x)
{
    static const double TWO52 = 4503599627370496.0;
    if (!(ert_fabs(x) < TWO52)) return x;
    return x >= 0 ? (x + TWO52) - TWO52 : -((-x + TWO52) - TWO52);
}

double ert_round(double x)
{
    double a = ert_fabs(x);
    if (!(a < 4503599627370496.0)) return x;
    double t = ert_floor(a);
    if (a - t >= 0.5) t += 1.0;
    return x < 0 ? -t : t;
}

double ert_tanh(double x)
{
    double a = ert_fabs(x);
    if (ert_isnan(x)) return x;
    if (a < 3.7252902984e-09) return x;
    double t = a > 22.0 ? 1.0 : 1.0 - 2.0 / (ert_exp(2.0 * a) + 1.0);
    return x < 0 ? -t : t;
}

double ert_pow(double x, double y)
{
    if (y == 0) return 1.0;
    if (ert_isnan(x) || ert_isnan(y)) return ert_nan();
    if (x > 0) return ert_exp(y * ert_log(x));
    int integral = ert_floor(y) == y;
    int odd = integral && ert_fabs(y) < 9007199254740992.0 && ((int64_t)y & 1);
    if (x == 0) return y > 0 ? 0.0 : ert_inf();
    if (!integral) return ert_nan();
    double r = ert_exp(y * ert_log(-x));
    return odd ? -r : r;
}

float ert_expf(float x) { return (float)ert_exp(x); }
float ert_logf(float x) { return (float)ert_log(x); }
float ert_sqrtf(float x) { return (float)ert_sqrt(x); } /* double rounding is exact here: 53 >= 2*24+2 */
float ert_tanhf(float x) { return (float)ert_tanh(x); }
float ert_fabsf(float x) { return (float)ert_fabs(x); }
float ert_floorf(float x) { return (float)ert_floor(x); }
float ert_roundf(float x) { return (float)ert_round(x); }
float ert_rintf(float x) { return (float)ert_rint(x); }
float ert_logisticf(float x) { return (float)(1.0 / (1.0 + ert_exp(-(double)x))); }
