"""Enhanced data, the part both the generator service and the trainer run: ring buffers (memory,
Redis), fragment cutting and the generation worker. It lives in the shared library because the trainer
runs the same generator in-process when no generator address is given, and services never import each
other; services/generator wraps it in the gRPC service."""
