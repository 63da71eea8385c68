#!/usr/bin/env python3
"""Writes the fuzz target's seed corpus (tests/fuzz/corpus/seed-N), once:
    python3 tests/fuzz/make_seeds.py
Deterministic: a fixed random stream per seed (runtime config byte, then
opcode/argument bytes; fuzz_txn.c says how they are decoded)."""
import os
import random

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
os.makedirs(here, exist_ok=True)
for n, cfg in enumerate([0, 1, 2, 3, 5, 7]):
    rng = random.Random(1000 + n)
    body = bytes(rng.randrange(256) for _ in range(96 + 64 * n))
    with open(os.path.join(here, "seed-%d" % n), "wb") as f:
        f.write(bytes([cfg]) + body)
