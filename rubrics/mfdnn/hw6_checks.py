"""Custom HW6 checks: plain pytest functions that the rubric (kind: custom) gives points to.

Fixtures: `submission` (one run per student), `reference` (the hw6 reference package; the check
is skipped where it is not installed), `observation(problem, check)` (what the sandbox saw of a
module or script check) and `script_run(problem, check)` (a script's run as arrays). Student code
never runs here: only its observations are read. See docs/writing-a-rubric.md.
"""

import numpy as np
import pytest


def check_output_is_finite(submission, observation):
    if "STMConvLayer" in submission.unassembled:  # the code is there, our parser could not use it
        pytest.skip("pending: STMConvLayer is for a TA to read (see p4b stm)")
    outcome = observation("p4b", "stm")
    assert outcome is not None and outcome.observation is not None, "STMConvLayer was not observed"
    assert "out0" in outcome.arrays, "STMConvLayer produced no output to inspect"
    assert np.all(np.isfinite(outcome.arrays["out0"])), "the output has NaN or infinite values"
