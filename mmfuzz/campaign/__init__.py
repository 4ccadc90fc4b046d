"""Nightly fuzz campaigns: every scenario x kernel, on all cores or a Dask cluster.

- ``plan``: which (scenario, kernel, overrides, options) targets run, with the verdict
  each is expected to give.
- ``shard``: one time-boxed unit of work, run on a worker: fuzz() for a chunk of
  examples with a fresh seed; a race comes back as a finished corpus entry.
- ``backend``: where shards run: in this process (--jobs 1) or on Dask (a local
  cluster, or --scheduler tcp://HOST:PORT).
- ``runner``: the loop: hand out shards until the deadline, save findings to the
  corpus (the one writer), survive Ctrl-C, SIGTERM and lost workers.
- ``progress``: the live line; ``report``: Markdown, JSON and JUnit XML.
"""
