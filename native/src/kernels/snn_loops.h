/* Loop bodies shared by the float32 (snn_float.c) and fixed-point (snn_fixed.c) spiking kernels,
 * written once as macros over the element types: XT inputs, WT weights, ACC the sum type
 * (float, or int64_t for fixed point), STORE(a) turns a sum into an output element (identity,
 * or saturation to int32). Each sum starts at the bias and adds its terms in one fixed order
 * (input index; channel, kernel row, kernel column), so every backend gets the same bits.
 * Variables named with a trailing underscore are the macros' own. */
#ifndef SNN_LOOPS_H
#define SNN_LOOPS_H

/* y[b][o] = bias[o] + sum_i x[b][i] * wt[i][o] from the transposed weights: each input adds
 * one contiguous weight row into the sums of its sample, ACC_ROW (an expression of b_: the
 * nout sums of sample b_). With SKIP only non-zero inputs are visited (event path: cost ~
 * spikes); a zero input adds nothing, so both paths give the same sums. Inputs outermost: a
 * weight row is read once for the whole batch. events counts the non-zero inputs. */
#define SNN_LINEAR_ROWS(XT, WT, ACC, STORE, SKIP, ACC_ROW, x, wt, bias, y, batch, nin, nout, events) \
    do {                                                                                   \
        for (uint32_t b_ = 0; b_ < (batch); b_++) {                                        \
            ACC *acc_ = (ACC_ROW);                                                         \
            for (uint32_t o_ = 0; o_ < (nout); o_++) acc_[o_] = (bias) ? (ACC)(bias)[o_] : (ACC)0; \
        }                                                                                  \
        for (uint32_t i_ = 0; i_ < (nin); i_++) {                                          \
            const WT *row_ = (wt) + i_ * (nout);                                           \
            for (uint32_t b_ = 0; b_ < (batch); b_++) {                                    \
                ACC xv_ = (ACC)(x)[b_ * (nin) + i_];                                       \
                if (xv_ != 0) (events)++;                                                  \
                else if (SKIP) continue;                                                   \
                ACC *acc_ = (ACC_ROW);                                                     \
                for (uint32_t o_ = 0; o_ < (nout); o_++) acc_[o_] += xv_ * row_[o_];       \
            }                                                                              \
        }                                                                                  \
        for (uint32_t b_ = 0; b_ < (batch); b_++) {                                        \
            ACC *acc_ = (ACC_ROW);                                                         \
            for (uint32_t o_ = 0; o_ < (nout); o_++) (y)[b_ * (nout) + o_] = STORE(acc_[o_]); \
        }                                                                                  \
    } while (0)

/* Convolution over the conv_geom g: each output sums its taps, skipping zero inputs (counted
 * in events); in_events counts the non-zero inputs. */
#define SNN_CONV_DENSE(XT, WT, ACC, STORE, g, x, w, bias, y, in_events, events)             \
    do {                                                                                   \
        uint32_t cog_ = (g).cout / (g).groups;                                             \
        for (uint32_t i_ = 0; i_ < (g).batch * (g).cin * (g).h * (g).w; i_++) (in_events) += (x)[i_] != 0; \
        for (uint32_t b_ = 0; b_ < (g).batch; b_++)                                        \
            for (uint32_t co_ = 0; co_ < (g).cout; co_++) {                                \
                uint32_t c0_ = (co_ / cog_) * (g).cig;                                     \
                const WT *wc_ = (w) + co_ * (g).cig * (g).kh * (g).kw;                     \
                for (uint32_t oy_ = 0; oy_ < (g).ho; oy_++)                                \
                    for (uint32_t ox_ = 0; ox_ < (g).wo; ox_++) {                          \
                        ACC acc_ = (bias) ? (ACC)(bias)[co_] : (ACC)0;                     \
                        for (uint32_t ci_ = 0; ci_ < (g).cig; ci_++) {                     \
                            const XT *xc_ = (x) + (b_ * (g).cin + c0_ + ci_) * (g).h * (g).w; \
                            for (uint32_t ky_ = 0; ky_ < (g).kh; ky_++) {                  \
                                int32_t iy_ = (int32_t)oy_ * (g).sh - (g).ph + (int32_t)ky_ * (g).dh; \
                                if (iy_ < 0 || iy_ >= (int32_t)(g).h) continue;            \
                                for (uint32_t kx_ = 0; kx_ < (g).kw; kx_++) {              \
                                    int32_t ix_ = (int32_t)ox_ * (g).sw - (g).pw + (int32_t)kx_ * (g).dw; \
                                    if (ix_ < 0 || ix_ >= (int32_t)(g).w) continue;        \
                                    ACC xv_ = (ACC)xc_[iy_ * (int32_t)(g).w + ix_];        \
                                    if (xv_ == 0) continue;                                \
                                    acc_ += xv_ * wc_[(ci_ * (g).kh + ky_) * (g).kw + kx_]; \
                                    (events)++;                                            \
                                }                                                          \
                            }                                                              \
                        }                                                                  \
                        (y)[((b_ * (g).cout + co_) * (g).ho + oy_) * (g).wo + ox_] = STORE(acc_); \
                    }                                                                      \
            }                                                                              \
    } while (0)

/* Window sums (zero padding) of NCHW tx -> ty; attrs kernel, stride, padding already read. */
#define SNN_POOL_SUMS(XT, ACC, STORE, x, y, tx, ty, kh, kw, sh, sw, ph, pw)                 \
    for (int32_t c_ = 0; c_ < (tx).shape[0] * (tx).shape[1]; c_++)                          \
        for (int32_t oy_ = 0; oy_ < (ty).shape[2]; oy_++)                                  \
            for (int32_t ox_ = 0; ox_ < (ty).shape[3]; ox_++) {                            \
                ACC acc_ = 0;                                                              \
                for (int32_t ky_ = 0; ky_ < (kh); ky_++) {                                 \
                    int32_t iy_ = oy_ * (sh) - (ph) + ky_;                                 \
                    if (iy_ < 0 || iy_ >= (tx).shape[2]) continue;                         \
                    for (int32_t kx_ = 0; kx_ < (kw); kx_++) {                             \
                        int32_t ix_ = ox_ * (sw) - (pw) + kx_;                             \
                        if (ix_ >= 0 && ix_ < (tx).shape[3])                               \
                            acc_ += (ACC)(x)[(c_ * (tx).shape[2] + iy_) * (tx).shape[3] + ix_]; \
                    }                                                                      \
                }                                                                          \
                (y)[(c_ * (ty).shape[2] + oy_) * (ty).shape[3] + ox_] = STORE(acc_);       \
            }

#endif
