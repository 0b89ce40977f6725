"""Generator settings: one pydantic-settings class, `GENERATOR_<KEY>` env vars, `--key=value` flags."""
from __future__ import annotations

from pydantic import Field

from moredata.enhanced.settings import EnhancedGenerationKeys
from moredata.settings import ServiceSettings, service_config


class GeneratorSettings(ServiceSettings, EnhancedGenerationKeys):
    """Besides these, the generation keys shared with the trainer (moredata.enhanced.settings)."""

    model_config = service_config("GENERATOR_")

    address: str = Field("127.0.0.1:50051", description="host:port the gRPC server listens on")
    redis_url: str = Field("redis://127.0.0.1:6379/0", description="Redis holding the ring buffer")
    ring_prefix: str = Field("moredata:ring", description="Redis key prefix of the ring (replicas share it)")
    redis_memory_budget_mb: float = Field(256.0, gt=0, description="the ring sizes itself down to fit this")
    data_dir: str = Field("data/shakespeare_char", description="prepared data; prefixes come from train.bin")
    checkpoint_dir: str = Field("runs", description="UpdateModel paths must resolve inside this folder; "
                                "uploads are stored in its uploads/ subfolder")
    checkpoint: str = Field("", description="checkpoint to load at start (inside checkpoint_dir); empty: "
                            "wait for UpdateModel, NOT_SERVING until then")
    generation_rate: float = Field(0.0, ge=0.0, description="target fragments/s; 0 = as fast as possible")
    pause_when_fresh: bool = Field(False, description="with paced=false: pause while every slot holds the current "
                                   "model's text")
    paced: bool = Field(True, description="size generation by the fragments served (enhanced_generation_reuse, "
                        "_share, _idle_share, _reserve: moredata/enhanced/pacing.py); false: flat out, capped by "
                        "generation_rate")
    max_stream_batch: int = Field(4096, ge=1, description="largest batch_size a StreamSamples request may ask")
    max_message_mb: float = Field(64.0, gt=0, description="gRPC message size limit, both directions")
    max_checkpoint_mb: float = Field(2048.0, gt=0, description="largest checkpoint UploadModel accepts")
    max_model_mb: float = Field(4096.0, gt=0, description="largest model (float32 weights) a checkpoint may "
                                "declare; checked against the weights present before anything is allocated")
    stream_wait_s: float = Field(5.0, gt=0, description="a StreamSamples call with no fragment to send (ring "
                                 "empty, min_model_version not reached) ends after this long with what it sent")
    idle_timeout_s: float = Field(30.0, gt=0, description="an upload stream silent this long is cancelled")
    max_workers: int = Field(16, ge=2, description="gRPC threads; streams may hold all but reserved_workers")
    reserved_workers: int = Field(4, ge=1, description="threads kept for unary calls (health, status, updates)")
    device: str = Field("auto", description="'auto' (cuda if available), 'cpu', 'cuda', 'cuda:N'")
    grace_s: float = Field(5.0, ge=0, description="seconds in-flight RPCs get on SIGTERM")
    seed: int = Field(0, description="seed of prefix choice and sampling")
