"""mfdnn HW4 reference (problem 7, the C3 layer), under the names the rubric refers to."""

from .c3 import (
    CH_IN_3,
    CH_IN_4,
    CYCLIC_SUBSETS,
    SUBSETS,
    C3_layer,
    C3_layer_full,
    count_parameters,
    params_c3,
    params_c3_full,
    reduction,
)

__all__ = [
    "CH_IN_3",
    "CH_IN_4",
    "CYCLIC_SUBSETS",
    "SUBSETS",
    "C3_layer",
    "C3_layer_full",
    "count_parameters",
    "params_c3",
    "params_c3_full",
    "reduction",
]
