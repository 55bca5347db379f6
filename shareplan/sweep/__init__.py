"""Batch sensitivity sweeps (docs/sweeps.md).

``solve sweep INSTANCE --vary PATH=SPEC ...`` solves one instance many times with
numbers in it changed: a full grid of the ``--vary`` values, or one parameter at a
time around the base. Modules, in the order a sweep uses them:

- :mod:`.spec`: parse ``PATH=SPEC``, resolve paths into the instance, build the
  scenarios and refuse invalid ones before anything runs;
- :mod:`.runner`: run scenarios in-process, on local worker processes or on a
  Dask cluster, journal each finished one (resume after a kill), show progress;
  :mod:`.pool` holds the local workers (a dead one is replaced, its scenario run
  again);
- :mod:`.table`: one row per scenario, written atomically as CSV or Parquet;
- :mod:`.plot`: objective and savings against the varied parameter (PNG);
- :mod:`.command`: the click command ``sweep``.

Nothing here imports dask, matplotlib or pyarrow at module level.
"""
