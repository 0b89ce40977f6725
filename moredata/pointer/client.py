"""Python client of the augment service.

    with AugmentClient("127.0.0.1:50052") as client:
        client.wait_ready()
        out, applied = client.augment(sample, config=cfg, seed=7, epoch=2)        # one sample
        for out, applied in client.augment_many((s, seed) for seed, s in enumerate(samples)):
            ...                                                                   # one stream, in order
        joined, offset = client.concatenate(a, b)

`config` is an AugmentationConfig, its JSON text, or None for the service's default. Errors come back as
grpc.RpcError; a bad sample is INVALID_ARGUMENT with the reason in `.details()`.
"""
from __future__ import annotations

import json
from typing import Iterable, Iterator

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from moredata.pointer.codec import sample_from_proto, sample_to_proto
from moredata.pointer.config import AugmentationConfig
from moredata.pointer.transforms import PointerSample
from moredata.rpc.proto import augment_pb2, augment_pb2_grpc


def _config_text(config: AugmentationConfig | str | None) -> str:
    if config is None:
        return ""
    return config if isinstance(config, str) else config.model_dump_json()


class AugmentClient:
    def __init__(self, address: str, max_message_mb: float = 512.0, timeout: float | None = 60.0,
                 delta: bool = True):
        """delta: send edits as a delta against the raw (codec.py) and get them back the same way; the
        frames that are exact copies of raw frames then cross the wire once instead of twice."""
        self.delta = delta
        opts = [("grpc.max_receive_message_length", int(max_message_mb * 2**20)),
                ("grpc.max_send_message_length", int(max_message_mb * 2**20))]
        self.channel = grpc.insecure_channel(address, options=opts)
        self.stub = augment_pb2_grpc.AugmentServiceStub(self.channel)
        self.timeout = timeout

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Blocks until the service's health check says SERVING (raises grpc.RpcError on timeout)."""
        health = health_pb2_grpc.HealthStub(self.channel)
        resp = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout, wait_for_ready=True)
        if resp.status != health_pb2.HealthCheckResponse.SERVING:
            raise RuntimeError(f"augment service is {health_pb2.HealthCheckResponse.ServingStatus.Name(resp.status)}")

    def _request(self, sample: PointerSample, seed: int, epoch: int = 0, partner: PointerSample | None = None,
                 config: AugmentationConfig | str | None = None) -> augment_pb2.AugmentRequest:
        req = augment_pb2.AugmentRequest(config_json=_config_text(config), seed=seed, epoch=epoch)
        sample_to_proto(sample, self.delta, out=req.sample)  # filled in place: no copy of the payload
        if partner is not None:
            sample_to_proto(partner, self.delta, out=req.partner)
        return req

    @staticmethod
    def _result(resp: augment_pb2.AugmentResponse) -> tuple[PointerSample, list[dict]]:
        return sample_from_proto(resp.sample, writable=True), json.loads(resp.applied_json)

    def augment(self, sample: PointerSample, seed: int, epoch: int = 0, partner: PointerSample | None = None,
                config: AugmentationConfig | str | None = None) -> tuple[PointerSample, list[dict]]:
        return self._result(self.stub.Augment(self._request(sample, seed, epoch, partner, config),
                                              timeout=self.timeout))

    def augment_many(self, items: Iterable[tuple], config: AugmentationConfig | str | None = None,
                     ) -> Iterator[tuple[PointerSample, list[dict]]]:
        """items: (sample, seed) or (sample, seed, epoch) or (sample, seed, epoch, partner), streamed over
        one AugmentStream call; results come back in the same order."""
        text = _config_text(config)
        requests = (self._request(*item, config=text) for item in items)
        for resp in self.stub.AugmentStream(requests):
            yield self._result(resp)

    def augment_stored(self, index: int, epoch: int, seed: int, config: AugmentationConfig | str | None = None,
                       augment: bool = True) -> tuple[PointerSample, list[dict]]:
        """Sample `index` of the service's folder, augmented for (seed, epoch) as PointerDataset does."""
        req = augment_pb2.StoredRequest(index=index, epoch=epoch, seed=seed, config_json=_config_text(config),
                                        augment=augment, delta=self.delta)
        return self._result(self.stub.AugmentStored(req, timeout=self.timeout))

    def augment_stored_many(self, items: Iterable[tuple[int, int]], seed: int,
                            config: AugmentationConfig | str | None = None,
                            ) -> Iterator[tuple[PointerSample, list[dict]]]:
        """(index, epoch) items over one AugmentStoredStream call, results in order."""
        text = _config_text(config)
        requests = (augment_pb2.StoredRequest(index=i, epoch=e, seed=seed, config_json=text, augment=True,
                                              delta=self.delta) for i, e in items)
        for resp in self.stub.AugmentStoredStream(requests):
            yield self._result(resp)

    def stored_info(self) -> dict:
        """{"count", "fingerprint", "samples_dir"} of the service's sample folder."""
        resp = self.stub.StoredInfo(augment_pb2.StoredInfoRequest(), timeout=self.timeout)
        return {"count": int(resp.count), "fingerprint": resp.fingerprint, "samples_dir": resp.samples_dir}

    def concatenate(self, a: PointerSample, b: PointerSample) -> tuple[PointerSample, int]:
        req = augment_pb2.ConcatenateRequest()
        sample_to_proto(a, self.delta, out=req.a)
        sample_to_proto(b, self.delta, out=req.b)
        resp = self.stub.Concatenate(req, timeout=self.timeout)
        return sample_from_proto(resp.sample, writable=True), int(resp.offset)

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> "AugmentClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
