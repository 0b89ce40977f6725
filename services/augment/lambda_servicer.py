"""LambdaTraceService: the generator's chunks over gRPC (server streaming), the same lines as the file."""
from __future__ import annotations

import time

from moredata.errors import InvalidArgument
from moredata.lambda_terms.traces import DEFAULT_DEPTHS, DEFAULT_SIZES, TraceSettings, chunk_lines
from moredata.rpc.proto import lambda_traces_pb2, lambda_traces_pb2_grpc

SERVICE_NAME = lambda_traces_pb2.DESCRIPTOR.services_by_name["LambdaTraceService"].full_name
# bounds of one request: the work a request may ask for, and what fits a message
MAX_DEPTH, MAX_SIZE_TABLE, MAX_STEPS, MAX_TERM_SIZE, MAX_CHUNK = 64, 10_000, 100_000, 100_000, 10_000


def settings_from_request(r) -> TraceSettings:
    """TraceSettings from a request, every value checked first (InvalidArgument names the field)."""
    depths = tuple(r.depths) or DEFAULT_DEPTHS
    sizes = tuple(r.sizes) or DEFAULT_SIZES
    if len(depths) != len(sizes):
        raise InvalidArgument(f"depths and sizes need the same length, got {len(depths)} and {len(sizes)}")
    if len(depths) > 1000:
        raise InvalidArgument(f"at most 1000 cycles, got {len(depths)}")
    if not all(2 <= d <= MAX_DEPTH for d in depths):
        raise InvalidArgument(f"every depth must be in [2, {MAX_DEPTH}], got {list(depths)[:20]}")
    if not all(2 <= s <= MAX_SIZE_TABLE for s in sizes):
        raise InvalidArgument(f"every size must be in [2, {MAX_SIZE_TABLE}], got {list(sizes)[:20]}")
    if r.max_steps > MAX_STEPS:
        raise InvalidArgument(f"max_steps must be at most {MAX_STEPS}, got {r.max_steps}")
    if r.max_size > MAX_TERM_SIZE:
        raise InvalidArgument(f"max_size must be at most {MAX_TERM_SIZE}, got {r.max_size}")
    if r.max_size == 1:
        raise InvalidArgument("max_size must be >= 2 (or 0 for the default)")
    d = TraceSettings()
    return TraceSettings(max_steps=r.max_steps or d.max_steps, max_size=r.max_size or d.max_size, depths=depths,
                         sizes=sizes)


class LambdaTraceServicer(lambda_traces_pb2_grpc.LambdaTraceServiceServicer):
    def __init__(self, max_count: int):
        self.max_count = max_count

    def StreamTraces(self, request, context):
        if not 1 <= request.count <= self.max_count:
            raise InvalidArgument(f"count must be in [1, {self.max_count}], got {request.count}")
        chunk = request.chunk_size or 1000
        if chunk > MAX_CHUNK:
            raise InvalidArgument(f"chunk_size must be at most {MAX_CHUNK}, got {chunk}")
        settings = settings_from_request(request)
        n_chunks = -(-request.count // chunk)
        if request.first_chunk >= n_chunks:
            raise InvalidArgument(f"first_chunk {request.first_chunk} is past the last chunk ({n_chunks - 1})")
        seed = request.seed if request.HasField("seed") else time.time_ns() % 2**63
        for c in range(request.first_chunk, n_chunks):
            if not context.is_active():  # the client cancelled: stop computing
                return
            n = min(chunk, request.count - c * chunk)
            yield lambda_traces_pb2.LambdaTraceChunk(chunk_id=c, lines=chunk_lines(seed, c, n, settings))
