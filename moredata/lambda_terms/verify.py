"""Checks a generated file against the independent normaliser: every trace that ended in a normal form
ends in the term NbE computes for its first term."""
from __future__ import annotations

from pathlib import Path

from moredata.jsonl import read_jsonl
from moredata.lambda_terms.normalizer import OutOfFuel, normal_form
from moredata.lambda_terms.terms import parse


def verify_file(path: Path, fuel: int = 2_000_000) -> dict:
    checked = mismatches = skipped = 0
    first, last_step = None, -1
    for d in read_jsonl(path):
        m = d["meta"]
        if m["step"] == 0:
            first = d["input"]
        elif m["step"] != last_step + 1:  # a trace with a step missing (dedup dropped it): not checkable
            first = None
        last_step = m["step"]
        if m["stopped"] == "normal" and d["target"] == "<nf>" and first is not None:
            try:
                ok = normal_form(parse(first), fuel=fuel) == parse(d["input"])
            except OutOfFuel:
                skipped += 1
                continue
            checked += 1
            mismatches += not ok
            first = None
    return {"checked": checked, "mismatches": mismatches, "skipped_out_of_fuel": skipped}
