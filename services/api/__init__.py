"""The Python API (re-exported by the top-level package): data, training, extraction."""
