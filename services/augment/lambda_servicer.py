"""LambdaTraceService: the generator's chunks over gRPC (server streaming), the same lines as the file."""
from __future__ import annotations

import threading
import time

from moredata.errors import InvalidArgument
from moredata.lambda_terms.traces import DEFAULT_DEPTHS, DEFAULT_SIZES, TraceSettings, chunk_lines
from moredata.rpc.proto import lambda_traces_pb2, lambda_traces_pb2_grpc

SERVICE_NAME = lambda_traces_pb2.DESCRIPTOR.services_by_name["LambdaTraceService"].full_name
# bounds of one request: the work a request may ask for, and what fits a message
MAX_DEPTH, MAX_SIZE_TABLE, MAX_STEPS, MAX_TERM_SIZE, MAX_CHUNK = 64, 10_000, 100_000, 100_000, 10_000
# one trace costs up to max_steps passes over a term of up to max_size nodes: at most 10^8 node visits
# (about a minute of one core), 2000x the defaults' 150 x 300
MAX_TRACE_WORK = 10**8
# a chunk is held in memory until sent: chunk_size lines of up to ~2 x max_size characters each, so at
# most ~80 MB of text per chunk (the defaults' 1000 x 300 is 1/66 of it)
MAX_CHUNK_CHARS = 2 * 10**7


def settings_from_request(r, chunk: int) -> TraceSettings:
    """TraceSettings from a request, every value checked first (InvalidArgument names the field); `chunk`:
    the examples per chunk the request asks for (its chunk_size, or the default), for the memory bound."""
    depths = tuple(r.depths) or DEFAULT_DEPTHS
    sizes = tuple(r.sizes) or DEFAULT_SIZES
    if len(depths) != len(sizes):
        raise InvalidArgument(f"depths and sizes need the same length, got {len(depths)} and {len(sizes)}")
    if len(depths) > 1000:
        raise InvalidArgument(f"at most 1000 cycles, got {len(depths)}")
    if not all(2 <= d <= MAX_DEPTH for d in depths):
        raise InvalidArgument(f"every depth must be in [2, {MAX_DEPTH}], got {list(depths)[:20]}")
    if not all(5 <= s <= MAX_SIZE_TABLE for s in sizes):  # 5: (\.0) (\.0), the smallest term with a redex
        raise InvalidArgument(f"every size must be in [5, {MAX_SIZE_TABLE}], got {list(sizes)[:20]}")
    if r.max_steps > MAX_STEPS:
        raise InvalidArgument(f"max_steps must be at most {MAX_STEPS}, got {r.max_steps}")
    if r.max_size > MAX_TERM_SIZE:
        raise InvalidArgument(f"max_size must be at most {MAX_TERM_SIZE}, got {r.max_size}")
    if 0 < r.max_size < 5:
        raise InvalidArgument("max_size must be >= 5 (or 0 for the default)")
    d = TraceSettings()
    settings = TraceSettings(max_steps=r.max_steps or d.max_steps, max_size=r.max_size or d.max_size,
                             depths=depths, sizes=sizes)
    if settings.max_steps * settings.max_size > MAX_TRACE_WORK:
        raise InvalidArgument(f"max_steps x max_size must be at most {MAX_TRACE_WORK:.0e} (the work of one "
                              f"trace), got {settings.max_steps} x {settings.max_size}")
    if chunk * settings.max_size > MAX_CHUNK_CHARS:
        raise InvalidArgument(f"chunk_size x max_size must be at most {MAX_CHUNK_CHARS:.0e} (a chunk is held "
                              f"in memory until sent), got {chunk} x {settings.max_size}")
    return settings


class LambdaTraceServicer(lambda_traces_pb2_grpc.LambdaTraceServiceServicer):
    def __init__(self, max_count: int):
        self.max_count = max_count
        self.computing = 0  # chunks being computed now (a test waits on it to see a cancelled stream stop)
        self._count_lock = threading.Lock()

    def StreamTraces(self, request, context):
        if not 1 <= request.count <= self.max_count:
            raise InvalidArgument(f"count must be in [1, {self.max_count}], got {request.count}")
        chunk = request.chunk_size or 1000
        if chunk > MAX_CHUNK:
            raise InvalidArgument(f"chunk_size must be at most {MAX_CHUNK}, got {chunk}")
        settings = settings_from_request(request, chunk)
        n_chunks = -(-request.count // chunk)
        if request.first_chunk >= n_chunks:
            raise InvalidArgument(f"first_chunk {request.first_chunk} is past the last chunk ({n_chunks - 1})")
        if request.HasField("seed") and request.seed < 0:
            raise InvalidArgument(f"seed must be >= 0 (or absent: from the clock), got {request.seed}")
        seed = request.seed if request.HasField("seed") else time.time_ns() % 2**63
        # set by gRPC the moment the call ends (client gone, cancelled, deadline): the chunk in hand stops
        # within one reduction step, not at its end
        stop = threading.Event()
        context.add_callback(stop.set)
        for c in range(request.first_chunk, n_chunks):
            n = min(chunk, request.count - c * chunk)
            with self._count_lock:
                self.computing += 1
            try:
                lines = chunk_lines(seed, c, n, settings, stop)
            finally:
                with self._count_lock:
                    self.computing -= 1
            if lines is None or not context.is_active():  # the client cancelled: stop computing
                return
            yield lambda_traces_pb2.LambdaTraceChunk(chunk_id=c, lines=lines)
