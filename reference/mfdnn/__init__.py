"""References of the course "Mathematical Foundations of Deep Neural Networks" (course id `mfdnn`).

One package per homework (`hw2`, `hw3`, `hw4`), each imported by the grader only, never by
student code. Imports inside them are relative, so a package works whether the grader imports it
as `reference.mfdnn.hwN` or, with the course's folder as the reference root, as `mfdnn.hwN`.
"""
