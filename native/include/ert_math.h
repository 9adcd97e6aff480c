/* libm-free math for kernels: the firmware links no libc, and host and board must compute
 * bit-identical results, so every kernel uses these instead of <math.h>. Built only from
 * IEEE-754 +,-,*,/ (correctly rounded in hardware and in libgcc's soft-float), so the result
 * is the same on x86-64, RV32IMC and Cortex-M. Compile with -ffp-contract=off (no FMA). */
#ifndef ERT_MATH_H
#define ERT_MATH_H

#include <stdint.h>

double ert_exp(double x);     /* within ~1 ulp */
double ert_log(double x);     /* within ~1 ulp; log(0) = -inf, log(<0) = NaN */
double ert_sqrt(double x);    /* correctly rounded */
double ert_tanh(double x);
double ert_fabs(double x);
double ert_floor(double x);
double ert_round(double x);   /* half away from zero (C round) */
double ert_rint(double x);    /* half to even (default rounding mode) */
double ert_pow(double x, double y);  /* exp(y * log(x)) for x > 0; x = 0 and integral y handled */

float ert_expf(float x);      /* (float)ert_exp(x): correctly rounded but for rare ties */
float ert_logf(float x);
float ert_sqrtf(float x);     /* correctly rounded */
float ert_tanhf(float x);
float ert_fabsf(float x);
float ert_floorf(float x);
float ert_roundf(float x);
float ert_rintf(float x);
float ert_logisticf(float x); /* 1 / (1 + exp(-x)) */

int ert_isnan(double x);
int ert_isinf(double x);
double ert_inf(void);
double ert_nan(void);

#endif
