"""A QA model's perf requests are SQuAD features: lengths that vary as the features' do, each request as long as
its longest row, padding masked out of the comparison."""

from __future__ import annotations

import numpy as np

from pytest_triton.models.zoo import zoo_spec
from pytest_triton.squad.load import REQUESTS, squad_requests


def test_requests_follow_the_features_lengths_and_pad_to_their_longest_row():
    tokenizer_dir = zoo_spec("bert-tiny").tokenizer_dir()
    single = squad_requests(tokenizer_dir, 128, batch_size=1)
    lengths = [case.inputs["input_ids"].shape[1] for case in single]
    assert len(single) == REQUESTS and len(set(lengths)) > 5 and max(lengths) <= 128
    # Batch 1: no padding at all; the row ends with [SEP].
    assert all(case.inputs["attention_mask"].all() for case in single)
    batched = squad_requests(tokenizer_dir, 128, batch_size=4)
    for case in batched:
        mask = case.inputs["attention_mask"]
        assert mask.shape[0] == 4 and mask.sum(axis=1).max() == mask.shape[1]  # as long as its longest row
        assert np.array_equal(case.compared["start_logits"], mask.astype(bool))
    assert squad_requests(tokenizer_dir, 128, batch_size=1)[3].label == single[3].label  # seeded
