"""KV-cache generation against nanoGPT's no-cache path."""
import pytest
import torch

from moredata.models.decoder_only import GPT, GPTConfig
from moredata.models.generation import generate, generate_nocache


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = GPT(GPTConfig(block_size=48, vocab_size=65, n_layer=3, n_head=4, n_embd=64, bias=True)).eval()
    # a random init has flat logits; sharpen the head so greedy choices are not near-ties
    with torch.no_grad():
        m.lm_head.weight.mul_(8.0)
    return m


def test_greedy_equals_nocache_batched(model):
    x = torch.randint(0, 65, (4, 9), generator=torch.Generator().manual_seed(1))
    ref = generate_nocache(model, x, 39, top_k=1)  # fills the context exactly: 9 + 39 = 48
    assert torch.equal(generate(model, x, 39, temperature=0.0), ref)
    assert torch.equal(generate(model, x, 39, temperature=1.0, top_k=1), ref)
    assert torch.equal(generate(model, x, 39, temperature=0.0, static=True), ref)  # the CUDA-graph layout


def test_greedy_equals_nocache_ragged(model):
    g = torch.Generator().manual_seed(2)
    prompts = [torch.randint(0, 65, (n,), generator=g) for n in (1, 5, 17, 30)]
    outs = generate(model, prompts, 18, temperature=0.0)
    outs_static = generate(model, prompts, 18, temperature=0.0, static=True)
    for p, o, s in zip(prompts, outs, outs_static):
        ref = generate_nocache(model, p[None], 18, top_k=1)[0]
        assert torch.equal(o, ref) and torch.equal(s, ref)
        assert torch.equal(o[: p.numel()], p)


def test_past_the_context_refills(model):
    x = torch.randint(0, 65, (3, 40), generator=torch.Generator().manual_seed(3))
    out = generate(model, x, 100, temperature=0.0, refill_keep=24)
    assert out.shape == (3, 140) and torch.equal(out[:, :40], x)
    # the first 8 new tokens are inside the context, so they still equal the reference
    assert torch.equal(out[:, :48], generate_nocache(model, x, 8, top_k=1))
    # past the context, every token equals what a no-cache forward over the same window predicts: the
    # window the cached path sees starts where its last refill kept refill_keep tokens (nanoGPT's
    # no-cache path slides a full window instead, so it differs there by design)
    assert torch.equal(out, _refill_reference(model, x, 100, refill_keep=24))
    ragged = generate(model, [x[0, :5], x[1]], 120, temperature=0.0, refill_keep=24)
    assert [r.numel() for r in ragged] == [125, 160]
    assert torch.equal(ragged[0], _refill_reference(model, x[:1, :5], 120, refill_keep=24)[0])
    assert torch.equal(ragged[1], _refill_reference(model, x[1:2], 120, refill_keep=24)[0])


@torch.inference_mode()
def _refill_reference(model, x, n, refill_keep):
    """Greedy decoding without a cache, each step a full forward over the window the cached path holds:
    from `start` to the current token, where start moves to the last refill_keep tokens whenever the
    window would outgrow block_size."""
    L = model.config.block_size
    seq, start = x.clone(), max(0, x.size(1) - L)
    for _ in range(n):
        if seq.size(1) - start > L:
            start = seq.size(1) - refill_keep
        logits, _ = model(seq[:, start:])
        seq = torch.cat([seq, logits[:, -1].argmax(-1, keepdim=True)], dim=1)
    return seq


def test_long_prompt_is_cropped_like_nanogpt(model):
    x = torch.randint(0, 65, (2, 70), generator=torch.Generator().manual_seed(4))
    assert torch.equal(generate(model, x, 1, temperature=0.0), generate_nocache(model, x, 1, top_k=1))


def test_sampling_is_seeded_and_respects_top_k(model):
    x = torch.randint(0, 65, (8, 4), generator=torch.Generator().manual_seed(5))
    a = generate(model, x, 30, temperature=1.0, top_k=3, generator=torch.Generator().manual_seed(7))
    b = generate(model, x, 30, temperature=1.0, top_k=3, generator=torch.Generator().manual_seed(7))
    c = generate(model, x, 30, temperature=1.0, top_k=3, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)
    # every sampled token is among the 3 most likely under the model at that step
    for t in range(4, 34):
        with torch.inference_mode():
            logits, _ = model(a[:, :t])
        top3 = logits[:, -1].topk(3).indices
        assert (top3 == a[:, t : t + 1]).any(dim=1).all()


@pytest.mark.parametrize("kw, msg", [
    ({"temperature": -1.0}, "temperature"), ({"top_k": 0}, "top_k"), ({"refill_keep": 48}, "refill_keep"),
])
def test_bad_arguments(model, kw, msg):
    with pytest.raises(ValueError, match=msg):
        generate(model, torch.zeros(1, 3, dtype=torch.long), 5, **kw)
    with pytest.raises(ValueError, match="at least one token"):
        generate(model, [torch.zeros(0, dtype=torch.long)], 5)


def test_decoders_are_reused_and_do_not_keep_models_alive():
    import gc
    import weakref

    from moredata.models import generation

    m = GPT(GPTConfig(block_size=16, vocab_size=11, n_layer=1, n_head=1, n_embd=8)).eval()
    x = torch.zeros(2, 3, dtype=torch.long)
    generate(m, x, 4, temperature=0.0)
    with generation._decoder_for(m, 2, False, False) as dec:
        with generation._decoder_for(m, 2, False, False) as other:
            assert other is not dec  # in use: a second caller gets its own cache
    generate(m, x, 4, temperature=0.0)
    with generation._decoder_for(m, 2, False, False) as again:
        assert again is dec  # same cache buffers, call after call
    ref = weakref.ref(m)
    del m, dec, other, again
    gc.collect()
    assert ref() is None


def test_compiled_static_decode_step_matches(model):
    """The decode step that CUDA graphs replay on GPU traces as one graph (fullgraph) and agrees on CPU."""
    x = torch.randint(0, 65, (2, 6), generator=torch.Generator().manual_seed(9))
    ref = generate_nocache(model, x, 12, top_k=1)
    assert torch.equal(generate(model, x, 12, temperature=0.0, static=True, compile=True), ref)


def test_concurrent_generations_equal_the_same_calls_one_at_a_time():
    """A web server's threads generate at once with one model and one batch size (issue 11, item 13):
    each must get what it gets alone, so no two may share a KV cache."""
    import threading

    torch.manual_seed(0)
    model = GPT(GPTConfig(block_size=32, vocab_size=50, n_layer=2, n_head=2, n_embd=32)).eval()
    prompts = [torch.randint(0, 50, (1, 5 + i), generator=torch.Generator().manual_seed(i)) for i in range(6)]

    def run(i):
        return generate(model, prompts[i], 60, temperature=1.0, generator=torch.Generator().manual_seed(100 + i))

    alone = [run(i) for i in range(6)]
    for _ in range(3):
        together = [None] * 6
        barrier = threading.Barrier(6)

        def worker(i):
            barrier.wait()
            together[i] = run(i)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for a, b in zip(alone, together):
            assert torch.equal(a, b)
