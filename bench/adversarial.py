"""A bounded adversarial run against the real services: health must answer throughout.

    python bench/adversarial.py            # about four minutes on 2 cores; table + bench/results/adversarial.json

Starts a real redis-server (maxmemory 32 MB, noeviction), the generator service and the augment service as
processes (the way `moredata-generator` / `moredata-augment` run), then, phase by phase, does what an
outsider might: more idle streams than worker threads, stalled uploads, checkpoints that declare sizes
their weights do not have, concurrent good and garbage uploads, Redis pushed over its memory limit, and
augment configs asking for absurd work; and round two's (issue 23): a 4 MB checkpoint inflating to 1 GiB,
the heaviest trace chunk whose client leaves, clients that stop reading their streams, and RAG ingests
over the embedding budget or abandoned by their client (the RAG service runs as a process too). A prober checks gRPC health of both services every 0.2 s from
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


def inflating_archive(good: dict, work: Path) -> Path:
    """The good checkpoint plus a 'junk' tensor of 2^28 zeros (1 GiB), its entries stored deflated."""
    import zipfile

    plain, bomb = work / "plain.pt", work / "bomb.pt"
    torch.save({**good, "junk": torch.zeros(2**28)}, plain)
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(bomb, "w") as out:
        for info in src.infolist():
            out.writestr(info.filename, src.read(info.filename),
                         compress_type=zipfile.ZIP_DEFLATED if info.file_size > 2**20 else zipfile.ZIP_STORED)
    plain.unlink()
    return bomb


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def seconds_until_idle(pid: int, timeout: float) -> float:
    """Seconds until the process uses under 5% of a core over a 0.5 s window (it stopped computing)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        c0 = cpu_seconds(pid)
        time.sleep(0.5)
        if cpu_seconds(pid) - c0 < 0.025:
            return time.monotonic() - t0 - 0.5
    return float("inf")


def wait_rag(port: int, timeout: float = 120.0) -> None:
    import httpx

    t0 = time.time()
    while time.time() - t0 < timeout:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise RuntimeError("the RAG service did not come up")


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
    bomb = inflating_archive(good, work)

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
    rag_port = free_port()
    rag = subprocess.Popen([sys.executable, "-m", "services.rag", f"--port={rag_port}", "--embedder=minilm",
                            f"--store_dir={work / 'rag_store'}"], env=env, stdout=subprocess.DEVNULL,
                           stderr=open(work / "rag.log", "w"))
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

        def inflating_checkpoints():
            """Round two, item 1: 3 uploads at once of a ~4 MB archive whose 'junk' entry inflates to 1 GiB."""
            before = peak_rss_mb(gen.pid)
            data = bomb.read_bytes()

            def chunks():
                return iter([generator_pb2.CheckpointChunk(data=data[i:i + 2**20], total_size=len(data) if i == 0 else 0)
                             for i in range(0, len(data), 2**20)])

            futs = [gstub.UploadModel.future(chunks(), timeout=120) for _ in range(3)]
            return {"upload_mb": round(len(data) / 2**20, 1), "upload_model": codes_of(futs),
                    "generator_peak_rss_mb_before": round(before, 1),
                    "generator_peak_rss_mb_after": round(peak_rss_mb(gen.pid), 1)}

        def heavy_traces():
            """Round two, item 2: the issue's request (refused now), then the heaviest allowed chunk with a 3 s
            deadline: how long the server goes on computing after the client is gone."""
            from moredata.rpc.proto import lambda_traces_pb2, lambda_traces_pb2_grpc

            tstub = lambda_traces_pb2_grpc.LambdaTraceServiceStub(ach)
            issue = dict(count=10_000, chunk_size=10_000, seed=3, max_steps=100_000, max_size=100_000, depths=[64],
                         sizes=[10_000])
            try:
                next(tstub.StreamTraces(lambda_traces_pb2.LambdaTracesRequest(**issue), timeout=20))
                issue_code = "OK"
            except grpc.RpcError as e:
                issue_code = e.code().name
            heavy = dict(count=200, chunk_size=200, seed=3, max_steps=1000, max_size=100_000, depths=[64], sizes=[10_000])
            try:
                next(tstub.StreamTraces(lambda_traces_pb2.LambdaTracesRequest(**heavy), timeout=3))
            except grpc.RpcError:
                pass
            stopped_s = seconds_until_idle(aug.pid, 120)
            return {"issue_request": issue_code, "heavy_chunk_stop_after_deadline_s": round(stopped_s, 2),
                    "augment_peak_rss_mb": round(peak_rss_mb(aug.pid), 1)}

        def rag_budget():
            """Round two, item 6: 20 KB in 1-character chunks (16,000 chunks before), and an ingest whose client
            leaves after 1 s (it used to be committed): answer time, what is stored, /health latency meanwhile."""
            import httpx

            base = f"http://127.0.0.1:{rag_port}"
            t0 = time.monotonic()
            r = httpx.post(f"{base}/documents", json={"text": "ab " * 6_700, "split": {"method": "chunk", "size": 1}},
                           timeout=600)
            over = {"status": r.status_code, "answered_s": round(time.monotonic() - t0, 2)}
            text = " ".join(f"word{i % 97}" for i in range(16_000))
            lat = []
            try:
                httpx.post(f"{base}/documents", json={"doc_id": "abandoned", "text": text,
                                                      "split": {"method": "chunk", "size": 250}}, timeout=1.0)
            except httpx.TimeoutException:
                pass
            t1 = time.monotonic()
            while time.monotonic() - t1 < 60 and "nothing was stored" not in (work / "rag.log").read_text():
                t = time.perf_counter()
                httpx.get(f"{base}/health", timeout=10)
                lat.append(time.perf_counter() - t)
                time.sleep(0.2)
            stored = httpx.get(f"{base}/documents/abandoned", timeout=10).status_code != 404
            return {"over_budget": over, "abandoned_committed": stored,
                    "rag_health_max_ms_while_embedding": round(1000 * max(lat), 1) if lat else None,
                    "rag_peak_rss_mb": round(peak_rss_mb(rag.pid), 1)}

        def unread_streams():
            """Round two, item 4: 16 StreamSamples(4096) that read one batch and stop reading; how long until a
            trainer's StreamSamples(8) is served."""
            stalled = []
            for _ in range(16):
                c = gstub.StreamSamples(generator_pb2.StreamSamplesRequest(batch_size=4096, max_batches=0), timeout=300)
                try:
                    next(c)
                except grpc.RpcError:
                    pass  # no slot left: that is the point
                stalled.append(c)
            t0, served = time.monotonic(), None
            while time.monotonic() - t0 < 120:
                try:
                    list(gstub.StreamSamples(generator_pb2.StreamSamplesRequest(batch_size=8, max_batches=1), timeout=10))
                    served = round(time.monotonic() - t0, 1)
                    break
                except grpc.RpcError:
                    time.sleep(0.5)
            for c in stalled:
                c.cancel()
            return {"trainer_stream_served_after_s": served}

        print("adversarial run:", flush=True)
        phase("round 2: 1 GiB-inflating checkpoints x3", inflating_checkpoints)
        phase("round 2: heavy StreamTraces, client gone", heavy_traces)
        phase("round 2: unread response streams", unread_streams)
        wait_rag(rag_port)
        phase("round 2: RAG budget, abandoned ingest", rag_budget)
        phase("idle streams and stalled uploads", idle_streams)
        phase("oversized and mismatched checkpoints", oversized)
        phase("concurrent good and garbage uploads", concurrent_uploads)
        phase("Redis over its memory limit", redis_over_limit)
        phase("augment: absurd configs, idle streams", augment_abuse)
        time.sleep(1.0)
    finally:
        prober.stop.set()
        for p in (gen, aug, rag):
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
