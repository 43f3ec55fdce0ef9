"""grader: an automated, sandboxed grader for deep-learning coursework.

The pipeline, one module per stage:

    discover  -> find submission folders            (grader.discover)
    ingest    -> normalised Submission with provenance (grader.ingest)
    sandbox   -> run student code confined, get Observations (grader.sandbox, grader.probe)
    judge     -> verdicts against the reference     (grader.judges, grader.reference)
    report    -> rich terminal report and exports   (grader.report)

`grader.pipeline.grade` strings them together through pytest (`grader.plugin`).
"""

__version__ = "0.1.0"
