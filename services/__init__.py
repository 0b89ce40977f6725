"""The four servers of the design card, each thin over the `moredata` library: generator, trainer (the CLI),
augment and rag. No service imports another; none is imported by the library (tests/test_boundaries.py)."""
