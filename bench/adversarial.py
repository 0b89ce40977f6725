"""A bounded adversarial run against the real services: health must answer throughout.

    python bench/adversarial.py            # about two minutes on 2 cores; table + bench/results/adversarial.json

Starts a real redis-server (maxmemory 32 MB, noeviction), the generator service and the augment service as
processes (the way `moredata-generator` / `moredata-augment` run), then, phase by phase, does what an
outsider might: more idle streams than worker threads, stalled uploads, checkpoints that declare sizes
their weights do not have, concurrent good and garbage uploads, Redis pushed over its memory limit, and
augment configs asking for absurd work. A prober checks gRPC health of both services every 0.2 s from
its own channel, with a 2 s deadline, the whole time. The table says, per phase, how many probes went
out, how many got no answer in time, the slowest answer, and what the attacks got back.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import grpc
import numpy as np
import torch
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench._results import write_results
from bench._stack import ROOT, ensure_char_data, free_port, peak_rss_mb, quick_checkpoint, start_redis
from moredata.cli import CliParser
from moredata.models.checkpoint import save_checkpoint
from moredata.rpc.proto import augment_pb2, augment_pb2_grpc, generator_pb2, generator_pb2_grpc

OUT = ROOT / "bench" / "results" / "adversarial.json"


class Prober(threading.Thread):
    """Health checks of every address every 0.2 s, each on a fresh channel, recorded per phase."""

    def __init__(self, addresses: dict[str, str]):
        super().__init__(daemon=True)
        self.addresses = addresses
        self.phase = "start"
        self.records: list[tuple[str, str, float, str]] = []  # (phase, service, seconds, status or error)
        self.stop = threading.Event()

    def run(self):
        while not self.stop.wait(0.2):
            for name, addr in self.addresses.items():
                t0 = time.perf_counter()
                with grpc.insecure_channel(addr) as ch:
                    try:
                        st = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=2.0)
                        status = health_pb2.HealthCheckResponse.ServingStatus.Name(st.status)
                    except grpc.RpcError as e:
                        status = f"error {e.code().name}"
                self.records.append((self.phase, name, time.perf_counter() - t0, status))


def codes_of(futures) -> dict[str, int]:
    out = Counter()
    for f in futures:
        try:
            f.result(timeout=120)
            out["OK"] += 1
        except grpc.RpcError as e:
            out[e.code().name] += 1
        except grpc.FutureTimeoutError:
            out["no answer"] += 1
    return dict(out)


def wait_health(addr: str, want: str = "SERVING", timeout: float = 120.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        with grpc.insecure_channel(addr) as ch:
            try:
                st = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=2)
                if health_pb2.HealthCheckResponse.ServingStatus.Name(st.status) == want:
                    return
            except grpc.RpcError:
                pass
        time.sleep(0.2)
    raise SystemExit(f"{addr} never reported {want}")


def main() -> None:
    CliParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    import redis

    work = Path(os.environ.get("TMPDIR", "/tmp")) / f"moredata-adversarial-{os.getpid()}"
    work.mkdir(parents=True)
    data_dir = ensure_char_data()
    ckpt_dir = work / "ckpts"
    best = quick_checkpoint(data_dir, ckpt_dir / "run", n_layer=2, n_head=2, n_embd=64, block_size=64, max_iters=10,
                            eval_interval=10, lr_decay_iters=10)
    good = torch.load(best, weights_only=True)
    huge = {**good, "model_args": {**good["model_args"], "vocab_size": 2**24}}
    save_checkpoint(ckpt_dir / "huge_vocab.pt", huge)
    save_checkpoint(ckpt_dir / "bad_block.pt", {**good, "model_args": {**good["model_args"], "block_size": 32}})

    redis_proc, redis_port = start_redis()
    r = redis.Redis(port=redis_port)
    r.config_set("maxmemory", "32mb")
    gen_addr, aug_addr = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    gen = subprocess.Popen([sys.executable, "-m", "services.generator.main", f"--address={gen_addr}",
                            f"--redis_url=redis://127.0.0.1:{redis_port}/0", f"--data_dir={data_dir}",
                            f"--checkpoint_dir={ckpt_dir}", "--checkpoint=run/best.pt", "--device=cpu",
                            "--enhanced_buffer_size=1000000", "--generation_rate=200", "--idle_timeout_s=5",
                            "--stream_wait_s=60", "--max_prefix_length=32"], env=env,
                           stdout=subprocess.DEVNULL, stderr=open(work / "generator.log", "w"))
    aug = subprocess.Popen([sys.executable, "-m", "services.augment.main", f"--address={aug_addr}",
                            "--idle_timeout_s=5"], env=env, stdout=subprocess.DEVNULL,
                           stderr=open(work / "augment.log", "w"))
    results: dict[str, dict] = {}
    prober = Prober({"generator": gen_addr, "augment": aug_addr})
    try:
        wait_health(gen_addr)
        wait_health(aug_addr)
        prober.start()
        gch, ach = grpc.insecure_channel(gen_addr), grpc.insecure_channel(aug_addr)
        gstub, astub = generator_pb2_grpc.GeneratorServiceStub(gch), augment_pb2_grpc.AugmentServiceStub(ach)

        def phase(name: str, fn) -> None:
            prober.phase = name
            t0 = time.time()
            got = fn()
            results[name] = {"attack_results": got, "seconds": round(time.time() - t0, 1)}
            print(f"  {name}: {got}", flush=True)

        stall = threading.Event()

        def idle_streams():
            waits = [gstub.StreamSamples(generator_pb2.StreamSamplesRequest(batch_size=4, min_model_version=999),
                                         timeout=60) for _ in range(32)]

            def one_byte():
                yield generator_pb2.CheckpointChunk(data=b"x", total_size=100)
                stall.wait(60)

            uploads = [gstub.UploadModel.future(one_byte(), timeout=60) for _ in range(32)]
            statuses = [gstub.GetStatus(generator_pb2.GetStatusRequest(), timeout=5).serving for _ in range(10)]
            got = {"get_status_answered": len(statuses), "uploads": codes_of(uploads)}
            time.sleep(3.0)  # the idle sample streams stay open while the prober checks health
            for w in waits:
                w.cancel()
            stall.set()
            return got

        def oversized():
            futs = [gstub.UpdateModel.future(generator_pb2.UpdateModelRequest(checkpoint_path=p), timeout=60)
                    for p in ["huge_vocab.pt", "bad_block.pt"] * 10]
            return {"update_model": codes_of(futs), "generator_peak_rss_mb": round(peak_rss_mb(gen.pid), 1)}

        def concurrent_uploads():
            blob, garbage = best.read_bytes(), os.urandom(best.stat().st_size)

            def chunks(b):
                return iter([generator_pb2.CheckpointChunk(data=b[i:i + 65536], total_size=len(b) if i == 0 else 0)
                             for i in range(0, len(b), 65536)])

            futs_good = [gstub.UploadModel.future(chunks(blob), timeout=120) for _ in range(6)]
            futs_bad = [gstub.UploadModel.future(chunks(garbage), timeout=120) for _ in range(6)]
            return {"good": codes_of(futs_good), "garbage": codes_of(futs_bad)}

        def redis_over_limit():
            r.set("someone:else", b"x" * (2 << 20))
            r.config_set("maxmemory", "1mb")  # now over the limit: every write is refused
            deadline, status = time.time() + 60, None
            while time.time() < deadline:
                status = gstub.GetStatus(generator_pb2.GetStatusRequest(), timeout=5)
                if not status.serving:
                    break
                time.sleep(0.2)
            degraded = {"serving": status.serving, "reason": status.degraded_reason[:120]}
            time.sleep(3.0)  # over the limit while the prober checks health
            r.delete("someone:else")
            r.config_set("maxmemory", "32mb")
            wait_health(gen_addr)
            return {"while_over_limit": degraded, "recovered": True}

        def augment_abuse():
            sample = augment_pb2.PointerSample()
            from moredata.pointer.codec import sample_to_proto
            from moredata.pointer.transforms import PointerSample

            raw = np.random.default_rng(0).standard_normal((80, 400)).astype(np.float32)
            p = np.arange(300) % 400
            sample_to_proto(PointerSample(raw, raw[:, p].copy(), p), out=sample)
            configs = ['{"augmentation": {"spec_augment": {"enabled": true, "probability": 1, "freq_masks": 10000000}}}',
                       '{"augmentation": {"chunk_shuffle": {"chunk_size": 9223372036854775808}}}',
                       "[" * 30_000 + "]" * 30_000, '{"augmentation": {}}' + " " * 70_000]
            futs = [astub.Augment.future(augment_pb2.AugmentRequest(sample=sample, seed=1, config_json=c), timeout=60)
                    for c in configs * 5]
            stall2 = threading.Event()

            def silent():
                stall2.wait(60)
                return
                yield

            streams = [astub.AugmentStream(silent(), timeout=60) for _ in range(32)]
            ok = astub.Augment(augment_pb2.AugmentRequest(sample=sample, seed=1), timeout=10).HasField("sample")
            got = {"absurd_configs": codes_of(futs), "plain_augment_during_idle_streams": ok}
            time.sleep(3.0)  # the idle augment streams stay open while the prober checks health
            stall2.set()
            for s in streams:
                s.cancel()
            return got

        print("adversarial run:", flush=True)
        phase("idle streams and stalled uploads", idle_streams)
        phase("oversized and mismatched checkpoints", oversized)
        phase("concurrent good and garbage uploads", concurrent_uploads)
        phase("Redis over its memory limit", redis_over_limit)
        phase("augment: absurd configs, idle streams", augment_abuse)
        time.sleep(1.0)
    finally:
        prober.stop.set()
        for p in (gen, aug):
            p.terminate()
            p.wait(timeout=30)
        redis_proc.terminate()
    rows = []
    for name in results:
        recs = [x for x in prober.records if x[0] == name]
        lat = [x[2] for x in recs if not x[3].startswith("error")]
        unanswered = sum(1 for x in recs if x[3].startswith("error"))
        statuses = dict(Counter(x[3] for x in recs))
        results[name].update(probes=len(recs), unanswered=unanswered, health_statuses=statuses,
                             health_p50_ms=round(1000 * statistics.median(lat), 1) if lat else None,
                             health_max_ms=round(1000 * max(lat), 1) if lat else None)
        rows.append((name, len(recs), unanswered, results[name]["health_p50_ms"], results[name]["health_max_ms"]))
    print("\n| phase | health probes | unanswered (2 s deadline) | p50 ms | max ms |\n|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(str(x) for x in row) + " |")
    write_results(OUT, {"machine": f"{os.cpu_count()} cores, CPU", "phases": results})
    print(f"\nwrote {OUT}")


if __name__ == "__main__":
    main()
