"""Stage 4, judge: every verdict, computed in the grader's process against the reference.

`kinds` is the one table from a check kind to its judge (and its planner, for kinds that run
student code); each kind has one module here. `items` turns rubric checks into pytest items.
"""
