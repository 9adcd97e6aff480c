/* The op table: op name -> kernel + optional load-time check. One line per op; kernels live
 * in src/kernels/<family>_*.c with prototypes in include/ert_kernels.h. Keep it sorted by name. */
#include <string.h>
#include "ert.h"
#include "ert_kernels.h"

static const ert_op OPS[] = {
    {"RESHAPE", ert_k_copy, ert_check_copy},
};

const ert_op *ert_find_op(const char *name)
{
    for (uint32_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++)
        if (!strcmp(OPS[i].name, name)) return &OPS[i];
    return NULL;
}

uint32_t ert_op_count(void) { return sizeof OPS / sizeof OPS[0]; }

const char *ert_op_name(uint32_t i) { return i < ert_op_count() ? OPS[i].name : NULL; }
