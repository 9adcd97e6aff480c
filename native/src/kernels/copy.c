/* Byte copy for ops that only change the view of a tensor (RESHAPE, SQUEEZE, ...). */
#include <string.h>
#include "ert_kernels.h"

ert_status ert_check_copy(ert_ctx *ctx, uint32_t node)
{
    ert_tensor in, out;
    if (!ert_input(ctx, node, 0, &in)) return ert_fail(ctx, node, ERT_E_SHAPE, "copy: input 0 absent");
    ert_output(ctx, node, 0, &out);
    if (in.nbytes != out.nbytes) return ert_fail(ctx, node, ERT_E_SHAPE, "copy: input and output sizes differ");
    return ERT_OK;
}

ert_status ert_k_copy(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    ert_tensor in, out;
    const void *src = ert_input(ctx, node, 0, &in);
    void *dst = ert_output(ctx, node, 0, &out);
    (void)activity;
    if (!src || in.nbytes != out.nbytes) return ert_fail(ctx, node, ERT_E_SHAPE, "copy: sizes differ");
    if (src != dst) memmove(dst, src, out.nbytes);
    return ERT_OK;
}
