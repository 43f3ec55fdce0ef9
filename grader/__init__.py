"""grader: an automated, sandboxed grader for deep-learning coursework.

One package per stage, each importing only from the stages before it (tests/test_layout.py):

    discover.py  -> the submission folders under a path
    ingest/      -> each folder read into a `Submission` with provenance (parsing only)
    sandbox/     -> student code run confined; plain observations back, read strictly
      inside/    -> the probe: the only code that runs beside student code
    judges/      -> every verdict, against the reference (`kinds.py`: kind -> judge, planner)
    report/      -> the terminal report and the exports (readers of `results.GradeReport`)

`grader.pipeline.grade` strings them together, driving pytest with `grader.judges.items`.
"""

import os

# The grader's own numeric work (references on small inputs) is fastest on one BLAS thread, and
# the cores belong to the sandboxes running student code in parallel: with spare threads spinning
# on a busy machine, the double-descent reference was measured 10-20x slower (bench/RESULTS.md).
# Set before numpy is first imported; an explicit setting in the environment wins.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

__version__ = "0.1.0"
