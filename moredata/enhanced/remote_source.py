"""The trainer's client of a remote generator service (`--generator host:port`).

A background thread keeps one StreamSamples stream open and a small queue of decoded batches full, so
`take(k)` at batch time is a queue pop (no network on the training step). When the generator or its
Redis is down the stream fails: the thread reconnects with exponential backoff (0.1 s doubling to 2 s)
while `take` returns nothing and the trainer falls back to natural rows.

New best checkpoints are sent on a separate thread: UpdateModel with the checkpoint's absolute path
(works when both share a filesystem, e.g. a compose volume), else UploadModel streaming the file.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import numpy as np
import torch

from moredata.rpc.proto import generator_pb2, generator_pb2_grpc
from moredata.rpc.tensor_codec import tensor_from_proto

log = logging.getLogger(__name__)
UPLOAD_CHUNK = 1 << 20


class RemoteSampleSource:
    def __init__(self, address: str, rows_per_batch: int, fragment_len: int, vocab_size: int,
                 prefetch: int = 8, max_message_mb: float = 64.0):
        self.address = address
        self.rows = rows_per_batch
        self.fragment_len = fragment_len
        self.vocab_size = vocab_size
        opts = [("grpc.max_receive_message_length", int(max_message_mb * 2**20)),
                ("grpc.max_send_message_length", int(max_message_mb * 2**20))]
        self.channel = grpc.insecure_channel(address, options=opts)
        self.stub = generator_pb2_grpc.GeneratorServiceStub(self.channel)
        self.queue: queue.Queue[np.ndarray] = queue.Queue(maxsize=prefetch)
        self.model_version = 0
        self.connected = False
        self.last_error = ""
        self._stream = None
        self._last_best: str | None = None  # re-sent to a generator that comes back without a model
        self._last_resend = 0.0
        self._sends_pending = 0  # model sends queued or in flight: while one is, no resend is needed
        self._sends_lock = threading.Lock()
        self._stop = threading.Event()
        self._updates = ThreadPoolExecutor(max_workers=1, thread_name_prefix="generator-update")
        self._thread = threading.Thread(target=self._run, name="generator-stream", daemon=True)
        self._thread.start()

    # --- receiving --------------------------------------------------------------------------------

    def _decode(self, batch) -> np.ndarray:
        t = tensor_from_proto(batch.tokens)  # validates dtype, shape and byte count
        if t.numel() == 0:
            return np.zeros((0, self.fragment_len), dtype=np.int64)
        arr = t.to(torch.int64).numpy()  # int64 here, so take() and mix() copy nothing
        if arr.ndim != 2 or arr.shape[1] != self.fragment_len:
            raise ValueError(f"generator sent fragments of shape {arr.shape}, expected (n, {self.fragment_len}): "
                             f"is it serving a model with another block_size?")
        if arr.max() >= self.vocab_size:
            raise ValueError(f"generator sent token id {int(arr.max())} outside the vocabulary ({self.vocab_size})")
        return arr

    def _run(self) -> None:
        """Keeps the queue full. Each StreamSamples call asks for at most `prefetch` batches, then a new
        call follows at once: an unbounded stream would let HTTP/2 buffer thousands of small batches in
        flight (its flow-control window grows to megabytes), all sampled from the ring as it was when
        sent, and the trainer would train on text from models several checkpoints old."""
        backoff = 0.1
        while not self._stop.is_set():
            try:
                self._stream = self.stub.StreamSamples(generator_pb2.StreamSamplesRequest(
                    batch_size=self.rows, max_batches=self.queue.maxsize))
                for batch in self._stream:
                    frags = self._decode(batch)
                    self.model_version = batch.model_version
                    if len(frags) == 0:  # an older generator's "nothing yet": not a batch to spend
                        continue
                    if not self.connected:
                        log.info("generator %s: streaming (model version %d)", self.address, self.model_version)
                    self.connected, backoff = True, 0.1
                    while not self._stop.is_set():
                        try:
                            self.queue.put(frags, timeout=0.1)
                            break
                        except queue.Full:
                            continue
                    if self._stop.is_set():
                        return
                continue  # the call delivered what it asked for: ask again, for fresh samples
            except grpc.RpcError as e:
                if self._stop.is_set():
                    return
                self.last_error = f"{e.code().name}: {e.details()}"
                if e.code() == grpc.StatusCode.UNAVAILABLE:
                    self._resend_if_modelless()
            except ValueError as e:  # a malformed batch: drop the stream, reconnect
                self.last_error = str(e)
            if self.connected:
                log.warning("generator %s: stream lost (%s); natural rows until it is back", self.address,
                            self.last_error)
            self.connected = False
            self._stop.wait(backoff)
            backoff = min(backoff * 2, 2.0)  # short: a restarted Redis or generator is back in seconds

    def _resend_if_modelless(self) -> None:
        """A generator that restarted has no model until told: send it our best one (at most every 5 s)."""
        # while a send is queued or loading (a large checkpoint, an upload), the generator has no model
        # yet and says so: that is not a restart, and resending made it load the same file 2-3 times
        if not self._last_best or self._sends_pending or time.monotonic() - self._last_resend < 5.0:
            return
        try:
            status = self.stub.GetStatus(generator_pb2.GetStatusRequest(), timeout=2)
        except grpc.RpcError:
            return  # the generator itself is down: nothing to tell yet
        if status.model.model_version == 0 and not self._sends_pending:
            self._last_resend = time.monotonic()
            self._submit_send(self._last_best)

    def take(self, k: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """Up to k fragments (k <= rows_per_batch) from the next prefetched batch; (0, L) if none is ready."""
        try:
            frags = self.queue.get_nowait()
        except queue.Empty:
            return np.zeros((0, self.fragment_len), dtype=np.int64)
        return frags[:k]

    def set_needed(self, needed: bool) -> None:
        """The in-process source rests while auto's p cannot rise; a service paces by what it serves."""

    def fill(self) -> int:
        return self.queue.qsize()

    def filtered(self) -> int:
        """0: a generator service counts what its quality filter drops itself (GetStatus)."""
        return 0

    # --- model updates ----------------------------------------------------------------------------

    def on_new_best(self, checkpoint_path: str) -> None:
        self._last_best = str(Path(checkpoint_path).resolve())
        self._submit_send(self._last_best)

    @property
    def sends_pending(self) -> int:
        """Model sends queued or in flight."""
        return self._sends_pending

    def _submit_send(self, path: str) -> None:
        with self._sends_lock:
            self._sends_pending += 1
        self._updates.submit(self._send_model, path)

    def _send_model(self, path: str) -> None:
        try:
            self._send_model_now(path)
        finally:
            with self._sends_lock:
                self._sends_pending -= 1

    def _send_model_now(self, path: str) -> None:
        try:
            try:
                resp = self.stub.UpdateModel(generator_pb2.UpdateModelRequest(checkpoint_path=path), timeout=120)
            except grpc.RpcError as e:
                if e.code() not in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND):
                    raise
                resp = self.stub.UploadModel(self._chunks(path), timeout=600)  # not on its filesystem
            log.info("generator %s: now model version %d (iter %d)", self.address, resp.model.model_version,
                     resp.model.iter_num)
        except grpc.RpcError as e:
            log.warning("generator %s: model update failed: %s %s", self.address, e.code().name, e.details())

    @staticmethod
    def _chunks(path: str):
        size = Path(path).stat().st_size
        with open(path, "rb") as f:
            first = True
            while chunk := f.read(UPLOAD_CHUNK):
                yield generator_pb2.CheckpointChunk(data=chunk, total_size=size if first else 0)
                first = False

    def close(self) -> None:
        self._stop.set()
        if self._stream is not None:
            self._stream.cancel()
        self._thread.join(timeout=5)
        self._updates.shutdown(wait=True, cancel_futures=False)
        self.channel.close()
