"""Test-wide setup: one BLAS thread in the test process, as in the grader's own process.

Imported before any test module (and so before numpy), for the reason given in grader/__init__.py.
"""

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
