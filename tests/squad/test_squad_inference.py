"""The generic batch runner: order kept under concurrency, bounded in-flight requests, shape checks, torch helper."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertForQuestionAnswering

from pytest_triton.squad.data import Example
from pytest_triton.squad.features import make_features
from pytest_triton.squad.inference import run_features, torch_qa_infer


@pytest.fixture
def features(tokenizer):
    contexts = [" ".join(f"w{j}" for j in range(i % 7 + 1)) for i in range(23)]
    examples = [Example(f"q{i}", "T", f"w{i}", context, (), True) for i, context in enumerate(contexts)]
    return make_features(examples, tokenizer, max_seq_length=16)


class _EchoBackend:
    """Returns logits that encode each row's first question token, sleeping so later batches may finish first."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0
        self.batch_sizes: list[int] = []

    def __call__(self, batch: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self.batch_sizes.append(len(batch["input_ids"]))
        time.sleep(0.02 * (batch["input_ids"][0, 1] % 3))
        with self.lock:
            self.in_flight -= 1
        start = np.repeat(batch["input_ids"][:, 1:2], batch["input_ids"].shape[1], axis=1).astype(np.float32)
        return start, -start


@pytest.mark.parametrize("concurrency", [1, 3])
def test_logits_come_back_in_feature_order(features, concurrency):
    backend = _EchoBackend()
    logits = run_features(features, backend, batch_size=4, concurrency=concurrency)
    expected = np.stack([f.input_ids[1] for f in features]).astype(np.float32)
    assert logits.start.shape == (23, 16) and len(logits) == 23
    assert (logits.start[:, 0] == expected).all()
    assert (logits.end == -logits.start).all()
    assert backend.batch_sizes.count(4) == 5 and backend.batch_sizes.count(3) == 1
    assert backend.most_in_flight <= concurrency


def test_concurrent_requests_really_overlap(features):
    barrier = threading.Barrier(3, timeout=10)

    def infer(batch: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        barrier.wait()  # only returns once three requests are in flight together
        zeros = np.zeros(batch["input_ids"].shape, np.float32)
        return zeros, zeros

    logits = run_features(features[:18], infer, batch_size=6, concurrency=3)
    assert logits.start.shape == (18, 16)


def test_progress_bar_is_shown_only_when_asked(features, capsys):
    backend = _EchoBackend()
    run_features(features, backend, batch_size=8, concurrency=2, progress=True)
    assert "SQuAD inference" in capsys.readouterr().err
    run_features(features, backend, batch_size=8, concurrency=2, progress=False)
    assert capsys.readouterr().err == ""


def test_backend_errors_and_bad_shapes_surface(features):
    def failing(batch):
        raise RuntimeError("server said no")

    with pytest.raises(RuntimeError, match="server said no"):
        run_features(features, failing, batch_size=4, concurrency=2)

    def wrong_shape(batch):
        return np.zeros((1, 16)), np.zeros((1, 16))

    with pytest.raises(ValueError, match=r"shapes \(1, 16\) and \(1, 16\) for batch 0, expected \(4, 16\)"):
        run_features(features, wrong_shape, batch_size=4)

    with pytest.raises(ValueError, match="must be at least 1"):
        run_features(features, wrong_shape, batch_size=0)


def test_no_features_give_empty_logits():
    logits = run_features([], lambda batch: (batch["input_ids"], batch["input_ids"]), batch_size=4)
    assert len(logits) == 0


def test_torch_infer_matches_a_direct_forward_pass(features, tokenizer):
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tokenizer.get_vocab()),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=16,
    )
    model = BertForQuestionAnswering(config).eval()
    logits = run_features(features, torch_qa_infer(model), batch_size=5, concurrency=2)
    with torch.no_grad():
        direct = model(
            input_ids=torch.from_numpy(features[7].input_ids[None]),
            token_type_ids=torch.from_numpy(features[7].token_type_ids[None]),
            attention_mask=torch.from_numpy(features[7].attention_mask[None]),
        )
    assert logits.start.dtype == np.float32
    np.testing.assert_allclose(logits.start[7], direct.start_logits[0].numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(logits.end[7], direct.end_logits[0].numpy(), rtol=1e-5, atol=1e-5)
