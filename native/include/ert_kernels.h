/* Prototypes of every kernel and load-time check named in src/ert_ops.c. Kernels follow the
 * contract in ert.h: no allocation, no globals, all data through the accessors. */
#ifndef ERT_KERNELS_H
#define ERT_KERNELS_H

#include "ert.h"

/* kernels/copy.c: output bytes = input 0 bytes (RESHAPE and other pure view changes). */
ert_status ert_k_copy(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_check_copy(ert_ctx *ctx, uint32_t node);

#endif
