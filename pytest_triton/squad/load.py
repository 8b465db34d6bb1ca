"""Requests for a QA model's perf load shaped like SQuAD's own: real features of a generated held-out set, each
request as long as its longest row, so that sequence lengths follow the features' distribution instead of always
being the longest a model takes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pytest_triton.models.spec import SampleCase, seeded_generator
from pytest_triton.squad.features import MODEL_INPUT_NAMES, make_features, window_settings
from pytest_triton.squad.synthetic import generate

LOAD_SEED = 11  # not the accuracy suite's held-out seed: the load is not the evaluation
LOAD_PARAGRAPHS = 16
REQUESTS = 32  # requests in rotation: enough lengths to follow the distribution, few enough to build in a blink


def squad_requests(tokenizer_dir: Path, max_seq_length: int, batch_size: int) -> list[SampleCase]:
    """REQUESTS requests of `batch_size` features in a seeded order, each trimmed to its longest row (shorter rows
    padded, as a QA client batches); logits past a row's length are not compared."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    examples = generate(LOAD_SEED, LOAD_PARAGRAPHS).examples
    stride, query = window_settings(max_seq_length)
    features = make_features(examples, tokenizer, max_seq_length, stride, query)
    order = seeded_generator(LOAD_SEED).permutation(len(features))
    cases = []
    for index in range(REQUESTS):
        rows = [features[order[(index * batch_size + k) % len(features)]] for k in range(batch_size)]
        length = max(int(row.attention_mask.sum()) for row in rows)
        inputs = {name: np.stack([getattr(row, name)[:length] for row in rows]) for name in MODEL_INPUT_NAMES}
        real = inputs["attention_mask"].astype(bool)
        label = f"squad{index}-b{batch_size}-s{length}"
        cases.append(SampleCase(batch_size, label, inputs, compared={"start_logits": real, "end_logits": real}))
    return cases
