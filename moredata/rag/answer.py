"""RAGModel: retrieve, build a prompt inside the model's context, generate with the project's GPT.

    rag = RAGModel.from_checkpoint(store, "runs/shakespeare_char_cpu/best.pt")
    ans = rag.generate("How do I resume training?", top_k=3, max_length=200, temperature=0.8)
    ans.answer, [s.chunk_id for s in ans.sources]       # the text, and the chunks the prompt used

The prompt is
    Context:
    [1] <most relevant chunk>
    [2] <next chunk>
    Question: <query>
    Answer:
A quarter of the context stays free for the answer (past the context, generation slides its window);
chunks go in by relevance until the rest (minus the question) is spent; the chunk that crosses it is
cut to what fits (kept only if at least `min_chunk_tokens`), the rest are left out and not reported
as sources. A model with a small context (64 tokens) may have room for the question only. Characters a char-level model has never seen are
dropped from the prompt (its alphabet cannot express them).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from moredata.data.tokenizers import encode_known
from moredata.errors import InvalidArgument
from moredata.models.generation import generate
from moredata.rag.retrieval import Hit, Retriever


@dataclass
class Source:
    chunk_id: int
    doc_id: str
    score: float
    text: str  # what went into the prompt (possibly cut)
    truncated: bool = False


@dataclass
class RAGAnswer:
    answer: str
    sources: list[Source] = field(default_factory=list)
    prompt_tokens: int = 0
    note: str = ""  # why there are no sources, when there are none


class RAGModel:
    def __init__(self, store, model, tokenizer, retriever: Retriever | None = None, min_chunk_tokens: int = 16):
        self.store = store
        self.model = model.eval()
        self.tok = tokenizer
        self.retriever = retriever or Retriever(store)
        self.block_size = model.config.block_size
        self.min_chunk_tokens = min_chunk_tokens

    @classmethod
    def from_checkpoint(cls, store, path, device: str = "cpu", retriever: Retriever | None = None) -> "RAGModel":
        from moredata.models.loader import load_model_and_tokenizer

        model, tok = load_model_and_tokenizer(path, device=device)
        if getattr(model, "model_type", "decoder_only") != "decoder_only":
            raise InvalidArgument(f"{path} is a {model.model_type} model; answers need a GPT (decoder_only)")
        if tok is None:
            raise InvalidArgument(f"{path} carries no tokenizer; train with moredata-train, or import with one")
        return cls(store, model, tok, retriever)

    def encode(self, text: str) -> list[int]:
        return encode_known(self.tok, text)

    def build_prompt(self, query: str, hits: list[Hit], max_length: int) -> tuple[list[int], list[Source], str]:
        """Prompt token ids and the sources in it. The answer keeps a quarter of the context (generation
        past the context slides the window, so it need not fit whole); a question too long for the rest is
        cut from the front; chunks fill what is left, or are left out when less than min_chunk_tokens is.
        The third item says why no source made it into the prompt ('' when some did)."""
        room = min(max_length, max(8, self.block_size // 4))
        tail = self.encode(f"Question: {query.strip()}\nAnswer:")
        tail = tail[-(self.block_size - room):]
        head = self.encode("Context:\n")
        budget = self.block_size - room - len(tail) - len(head)
        if budget < self.min_chunk_tokens:
            return tail, [], (f"no retrieved text fits the model's {self.block_size}-token context: the answer keeps "
                              f"{room} tokens and the question takes {len(tail)}; a model trained with a larger "
                              f"block_size (128 or more) answers from sources")
        if not hits:
            return tail, [], "no stored chunk matched the query (an empty store, or filters that exclude all)"
        ids, sources = list(head), []
        for i, (hit, chunk) in enumerate(zip(hits, self.store.chunks([h.chunk_id for h in hits]))):
            piece = self.encode(f"[{i + 1}] {chunk.text}\n")
            cut = len(piece) > budget
            if cut:
                if budget < self.min_chunk_tokens:
                    break
                piece = piece[:budget]
            ids += piece
            budget -= len(piece)
            sources.append(Source(chunk.chunk_id, chunk.doc_id, hit.score,
                                  self.tok.decode(piece)[len(f"[{i + 1}] "):].rstrip("\n"), cut))
            if cut:
                break
        if not sources:
            return tail, [], f"the best chunk needs more than the {budget} tokens left in the context"
        return ids + tail, sources, ""

    @torch.no_grad()
    def generate(self, query: str, top_k: int = 3, max_length: int = 200, temperature: float = 0.8,
                 mode: str = "hybrid", filters: dict | None = None, seed: int | None = None) -> RAGAnswer:
        if max_length < 1:
            raise InvalidArgument(f"max_length must be >= 1, got {max_length}")
        if temperature <= 0:
            raise InvalidArgument(f"temperature must be > 0, got {temperature}")
        hits = self.retriever.search(query, k=top_k, mode=mode, filters=filters)
        prompt, sources, note = self.build_prompt(query, hits, max_length)
        device = self.model.lm_head.weight.device
        gen = torch.Generator(device=device).manual_seed(seed) if seed is not None else None
        out = generate(self.model, torch.tensor([prompt], dtype=torch.long, device=device), max_length,
                       temperature=temperature, top_k=min(200, self.model.config.vocab_size),
                       generator=gen)
        answer = self.tok.decode(out[0, len(prompt):].tolist())
        return RAGAnswer(answer, sources, len(prompt), note)
