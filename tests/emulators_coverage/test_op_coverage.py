"""Every op the runtime registers has a cost path in the emulators, and the coverage models
(coverage_models.py) use every op, so test_coverage_matrix.py emulates each of them on every
profile. A new runtime op fails here until the cost models and a coverage model know it."""
from functools import cache

import pytest

from edgert.emulators import kernels_c, workload
from edgert.emulators.spinnaker import role
from edgert.runtime import kernels as runtime_kernels

from coverage_models import FAMILIES

# the runtime's own ops (tests may register throwaway ops of their own)
OPS = sorted(op for op in runtime_kernels.known_ops("numpy")
             if runtime_kernels.lookup(op, "numpy").__module__.startswith("edgert.runtime.kernels."))
# ops of the workload model's loop kinds (conv, depthwise, fc, pools, element-wise, copies, conversions, softmax)
LOOP_OPS = (workload.CONV_OPS | workload.DEPTHWISE_OPS | workload.FC_OPS | workload.MAX_POOL_OPS | workload.AVG_POOL_OPS
            | workload.ELTWISE_OPS | workload.COPY_OPS | workload.CONVERT_OPS | workload.SOFTMAX_OPS)


@cache
def _used_ops() -> frozenset:
    return frozenset(n.op for make in FAMILIES.values() for n in make()[0].graph.nodes)


@pytest.mark.parametrize("op", OPS)
def test_op_has_a_cost_path(op):
    info = runtime_kernels.info(op)
    uncosted = [name for name in info.activity if name not in kernels_c.ACTIVITY]
    assert not uncosted, f"{op}: activity counters without a cost entry: {uncosted}"
    if info.family == "snn":
        assert role(op), f"{op}: no role on event cores (population, projection or glue)"
    elif info.family == "non-neural":
        base = op.removesuffix("_Q")
        assert base in kernels_c.NN_MAC or info.activity, f"{op}: neither a dense loop model nor counted work"
    else:
        assert workload.base_op(op) in LOOP_OPS, f"{op}: the workload model would cost it as generic work"


@pytest.mark.parametrize("op", OPS)
def test_op_is_in_a_coverage_model(op):
    assert op in _used_ops(), f"{op}: add a model that uses it to coverage_models.py"
