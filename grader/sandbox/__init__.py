"""Stage 3, run: student code confined, plain observations back.

`jobs` (what a run is), `confinement` (bubblewrap argv, limits, environment), `exchange` (what goes
into a run and what comes back), `runner` (cold runs), `workers` (warm runs), `observations` (the
strict reader), `cache`, `cluster` (the same jobs on Dask workers), and `observe` (one student's
probes, run once however many checks read them). `inside/` holds the only code that runs beside
student code.
"""
