"""fastnet's benchmark suite: speed and numerical agreement against the NumPy reference and peers.

Run ``python -m benchmarks`` from the repository root (``--quick`` for a smoke run,
``--json PATH`` for every raw timing, ``--markdown PATH`` for the table).  See
``benchmarks/README.md`` for the cases and what each number means.
"""
SCHEMA = "fastnet-benchmarks/1"
