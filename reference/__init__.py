"""Trusted reference solutions; imported only by the grader process, never by student code."""
