/* Prototypes of every kernel and load-time check named in src/ert_ops.c. Kernels follow the
 * contract in ert.h: no allocation, no globals, all data through the accessors. */
#ifndef ERT_KERNELS_H
#define ERT_KERNELS_H

#include "ert.h"

/* kernels/copy.c: output bytes = input 0 bytes (RESHAPE and other pure view changes). */
ert_status ert_k_copy(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_check_copy(ert_ctx *ctx, uint32_t node);

/* kernels/snn_float.c: spiking-network ops, float32 (SNN_*). */
ert_status ert_k_snn_linear(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_snn_linear_event(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_snn_conv2d(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_snn_sumpool2d(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_snn_add(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_snn_scale(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_snn_threshold(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_snn_neuron(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_snn_delay(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_check_snn_linear(ert_ctx *ctx, uint32_t node);
ert_status ert_check_snn_linear_event(ert_ctx *ctx, uint32_t node);
ert_status ert_check_snn_conv2d(ert_ctx *ctx, uint32_t node);
ert_status ert_check_snn_sumpool2d(ert_ctx *ctx, uint32_t node);
ert_status ert_check_snn_add(ert_ctx *ctx, uint32_t node);
ert_status ert_check_snn_elementwise(ert_ctx *ctx, uint32_t node);
ert_status ert_check_snn_neuron(ert_ctx *ctx, uint32_t node);
ert_status ert_check_snn_delay(ert_ctx *ctx, uint32_t node);

#endif
