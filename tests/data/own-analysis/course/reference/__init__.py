"""Reference solutions of the test course `owncourse` (tests/data/own-analysis)."""
