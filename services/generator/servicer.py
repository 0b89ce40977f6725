"""The gRPC face of GeneratorCore: moredata.generator.v1.GeneratorService."""
from __future__ import annotations

import contextlib
import math
import time
import uuid

from moredata.atomic import atomic_open
from moredata.enhanced.worker import InstalledModel
from moredata.errors import InvalidArgument
from moredata.rpc.proto import common_pb2, generator_pb2, generator_pb2_grpc
from moredata.rpc.tensor_codec import tensor_to_proto
from services.generator.core import GeneratorCore

SERVICE_NAME = generator_pb2.DESCRIPTOR.services_by_name["GeneratorService"].full_name
EMPTY_POLL_S = 0.05  # while there is nothing to send, look again this often


class GeneratorServicer(generator_pb2_grpc.GeneratorServiceServicer):
    def __init__(self, core: GeneratorCore):
        self.core = core

    def StreamSamples(self, request, context):
        s = self.core.s
        n = request.batch_size
        if n < 1 or n > s.max_stream_batch:
            raise InvalidArgument(f"batch_size must be in [1, {s.max_stream_batch}], got {n}")
        if self.core.buffer is not None:
            batch_bytes = n * self.core.buffer.fragment_len * self.core.buffer.dtype.itemsize
            if batch_bytes > s.max_message_mb * 2**20 * 0.9:
                raise InvalidArgument(f"batch_size {n} makes {batch_bytes} byte messages, over the "
                                      f"{s.max_message_mb} MiB limit")
        # Never an empty batch: a client would take it for data. With nothing to send (ring empty, the
        # asked-for version not written yet) the call waits up to stream_wait_s, then ends with what it
        # sent; the client calls again. Its thread is never held for longer than that without sending.
        sent = 0
        waiting_since = time.monotonic()
        while context.is_active() and (request.max_batches == 0 or sent < request.max_batches):
            frags, vers = self.core.samples(n, request.min_model_version)
            if len(frags) == 0:
                if time.monotonic() - waiting_since > s.stream_wait_s:
                    return
                time.sleep(EMPTY_POLL_S)
                continue
            yield generator_pb2.SampleBatch(tokens=tensor_to_proto(frags), fragment_versions=vers.tolist(),
                                            model_version=self.core.model_version)
            sent += 1
            waiting_since = time.monotonic()

    def UpdateModel(self, request, context):
        installed = self.core.load(self.core.resolve(request.checkpoint_path))
        return generator_pb2.UpdateModelResponse(model=model_info(installed))

    def UploadModel(self, request_iterator, context):
        limit = int(self.core.s.max_checkpoint_mb * 2**20)
        uploads = self.core.checkpoint_dir / "uploads"
        # one file per upload (concurrent uploads never share a path), published by an atomic rename only
        # once the whole stream arrived; a failed, oversized or refused upload leaves nothing behind
        path = uploads / f"upload-{uuid.uuid4().hex}.pt"
        total = expected = 0
        try:
            with atomic_open(path) as f:
                for i, chunk in enumerate(request_iterator):
                    if i == 0:
                        expected = chunk.total_size
                        if expected > limit:
                            raise InvalidArgument(f"checkpoint of {expected} bytes exceeds the {limit} byte limit")
                    total += len(chunk.data)
                    if total > limit:
                        raise InvalidArgument(f"checkpoint stream exceeds the {limit} byte limit")
                    f.write(chunk.data)
                if expected and total != expected:
                    raise InvalidArgument(f"checkpoint stream ended after {total} of {expected} bytes")
                if total == 0:
                    raise InvalidArgument("checkpoint stream is empty")
            installed = self.core.load(path, uploaded=True)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            raise
        return generator_pb2.UpdateModelResponse(model=model_info(installed))

    def GetStatus(self, request, context):
        core = self.core
        return generator_pb2.GeneratorStatus(
            model=model_info(core.worker.installed if core.worker is not None else None), **core.status(),
            fragments_generated_per_s=core.worker.rate() if core.worker is not None else 0.0,
            fragments_served_per_s=core.served_rate(),
            fragments_filtered=core.worker.filtered if core.worker is not None else 0,
            fragments_kept=core.worker.kept if core.worker is not None else 0,
            **core.pacing_status(),
        )



def model_info(m: InstalledModel | None) -> common_pb2.ModelInfo:
    """The wire form of one installed model (model_version 0: none yet)."""
    if m is None:
        return common_pb2.ModelInfo(model_version=0, best_val_loss=math.nan)
    c = m.config
    return common_pb2.ModelInfo(model_version=m.model_version, n_layer=c.n_layer, n_head=c.n_head, n_embd=c.n_embd,
                                block_size=c.block_size, vocab_size=c.vocab_size, bias=c.bias, iter_num=m.iter_num,
                                best_val_loss=m.best_val_loss, tokenizer_kind=m.tokenizer_kind)
