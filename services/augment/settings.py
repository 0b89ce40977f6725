"""Augment service settings: one pydantic-settings class, `AUGMENT_<KEY>` env vars, `--key=value` flags."""
from __future__ import annotations

from pydantic import Field

from moredata.settings import ServiceSettings, service_config


class AugmentSettings(ServiceSettings):
    model_config = service_config("AUGMENT_")

    address: str = Field("127.0.0.1:50052", description="host:port the gRPC server listens on")
    config: str = Field("safe", description="config used when a request sends none: a JSON file, or a shipped "
                        "name: 'safe' (noise, gain, SpecAugment: transforms that move no pointer) or 'none'")
    max_frames: int = Field(200_000, ge=1, description="most frames a raw or edit mel may have, in a request "
                            "and after concatenation (80 x 200k float32 = 64 MB)")
    max_mels: int = Field(512, ge=1, description="most mel channels a sample may have")
    max_message_mb: float = Field(512.0, gt=0, description="gRPC message size limit, both directions")
    max_workers: int = Field(16, ge=2, description="threads serving RPCs (numpy releases the GIL in the "
                             "heavy parts, so more than the core count helps little)")
    reserved_workers: int = Field(4, ge=1, description="threads kept for unary calls and health; streams may "
                                  "hold the others (more streams are refused with RESOURCE_EXHAUSTED)")
    idle_timeout_s: float = Field(30.0, gt=0, description="a request stream silent this long is cancelled")
    stream_prefetch: int = Field(2, ge=1, description="AugmentStream results computed ahead of the one "
                                 "being sent (memory: this many augmented samples per stream)")
    max_lambda_count: int = Field(100_000_000, ge=1, description="most examples one StreamTraces request "
                                  "may ask for")
    max_code_files: int = Field(10_000, ge=1, description="most files one BuildDataset request may send")
    max_code_file_mb: float = Field(1.0, gt=0, description="larger files are refused by SplitFile and skipped "
                                    "by BuildDataset")
    samples_dir: str = Field("", description="a folder of .npz samples served by AugmentStored (clients then "
                             "send only (index, epoch, seed)); empty: stored mode off")
    config_cache: int = Field(64, ge=1, description="distinct request configs kept parsed")
    grace_s: float = Field(5.0, ge=0, description="seconds in-flight RPCs get on SIGTERM")
