"""A tiny BERT for extractive QA, trained from scratch on synthetic SQuAD data by a committed recipe.

Nothing can be downloaded here, so the whole recipe is local: a WordPiece vocabulary made from the synthetic
generator's own word lists, a 2-layer BERT with sinusoid-initialised positions, 1500 deterministic single-thread
CPU steps over fresh synthetic questions in length-grouped batches (about 47 s on an idle 2-core machine, 7 of them
making the data). Deterministic on one CPU, not across CPU generations: so the weights this recipe made once ship in
the package (models/zoo.py) and every machine checks the same model. Retrain on request:

    python -m pytest_triton.squad.tiny_model            # into the per-machine cache; prints the directory
    python -m pytest_triton.squad.tiny_model --out DIR  # into DIR (how the shipped weights are refreshed)

The cache entry is keyed by a hash of the recipe and of the code that makes the data, features and model, so any
change retrains and an unchanged recipe loads at once. Training runs under a file lock into a temporary directory
that is then renamed into place, so concurrent pytest-xdist workers train once and never see a half-written model.
"""

from __future__ import annotations

import json
import string
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tokenizers import normalizers, pre_tokenizers
from transformers import BertConfig, BertForQuestionAnswering, BertTokenizer, PreTrainedTokenizerFast

from pytest_triton.models.trained import (
    MODEL_CACHE,
    adamw_warmup_decay,
    cached_model_dir,
    deterministic_torch,
    recipe_key,
    train_on_request,
)
from pytest_triton.squad import data as data_module
from pytest_triton.squad import features as features_module
from pytest_triton.squad import synthetic
from pytest_triton.squad.data import Example, answer_span
from pytest_triton.squad.features import Feature, make_features, model_inputs

MAX_SEQ_LENGTH = 128
"""Feature length the tiny model is trained for (its max_position_embeddings); use it with make_features."""
DOC_STRIDE = 64
"""Window stride to use with MAX_SEQ_LENGTH."""
MAX_QUERY_LENGTH = 32
"""Question truncation to use with MAX_SEQ_LENGTH."""

TRAINING_REPORT = "training_report.json"
_BUCKET_BATCHES = 32  # batches sorted by length together: enough to group lengths, few enough to stay random
_SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


@dataclass(frozen=True)
class Recipe:
    """Everything that decides the trained weights; its hash names the cache entry."""

    data_seed: int = 0
    train_paragraphs: int = 16000  # about one pass over fresh data: repeating a small set makes it memorise names
    unanswerable_fraction: float = 0.25
    hidden_size: int = 64
    layers: int = 2
    heads: int = 4
    intermediate_size: int = 128
    max_seq_length: int = MAX_SEQ_LENGTH
    doc_stride: int = DOC_STRIDE
    max_query_length: int = MAX_QUERY_LENGTH
    position_init_scale: float = 0.3
    torch_seed: int = 1234
    steps: int = 1500
    batch_size: int = 32
    learning_rate: float = 3e-3
    warmup_fraction: float = 0.1
    weight_decay: float = 0.01
    # One thread: on two shared cores a second OpenMP thread spin-waits for a busy core, and steps got 25x slower
    # (measured while Triton tests ran alongside); alone it is only ~25% faster than one thread.
    threads: int = 1

    def key(self) -> str:
        """Hash of the recipe and of the source code that shapes the trained model (not of the caching code)."""
        training_code = (build_tokenizer, train, _labels, _init_positions, _batches, _fit)
        return recipe_key(self, data_module, synthetic, features_module, *training_code)


def tiny_qa_model_dir(cache_dir: Path, recipe: Recipe = Recipe()) -> Path:
    """Return a Hugging Face model+tokenizer directory for the tiny QA model, training it on first use."""
    return cached_model_dir(cache_dir, f"tiny-bert-squad-{recipe.key()}", lambda out: train(recipe, out))


def build_tokenizer(words: Iterable[str], model_max_length: int = MAX_SEQ_LENGTH) -> PreTrainedTokenizerFast:
    """An uncased BERT WordPiece tokenizer whose vocabulary is `words`, usable whole or as word pieces, plus digits.

    Building the vocabulary from the generator's own word lists (rather than learning merges from a corpus) makes
    every invented name split into its syllables, in training and held-out data alike.
    """
    normalizer = normalizers.BertNormalizer(lowercase=True)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    pieces: set[str] = set()
    for word in words:
        pieces.update(piece for piece, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(word)))
    pieces.update(string.punctuation)
    pieces.update(f"{n:02d}" for n in range(100))  # years and counts become two-digit pieces
    pieces.update(string.digits)
    pieces.update(set("".join(pieces)))  # every single character, so nothing written by the generator is [UNK]
    ordered = sorted(pieces)
    vocab = [*_SPECIAL_TOKENS, *ordered, *(f"##{piece}" for piece in ordered)]
    # In transformers 5, BertTokenizer is the fast (Rust) tokenizer and BertTokenizerFast an alias of it.
    return BertTokenizer(
        vocab={token: index for index, token in enumerate(vocab)}, do_lower_case=True, model_max_length=model_max_length
    )


def train(recipe: Recipe, out_dir: Path) -> None:
    """Train the tiny QA model by `recipe` and save model, tokenizer and a training report into out_dir."""
    started = time.perf_counter()
    data = synthetic.generate(
        recipe.data_seed, recipe.train_paragraphs, "train", recipe.unanswerable_fraction, id_prefix="train"
    )
    tokenizer = build_tokenizer(synthetic.vocabulary(), recipe.max_seq_length)
    features = make_features(
        data.examples, tokenizer, recipe.max_seq_length, recipe.doc_stride, recipe.max_query_length
    )
    inputs = {name: torch.from_numpy(array) for name, array in model_inputs(features).items()}
    labels = torch.from_numpy(_labels(features, data.examples))
    prepared = time.perf_counter()

    with deterministic_torch(recipe.threads):
        torch.manual_seed(recipe.torch_seed)
        config = BertConfig(
            vocab_size=len(tokenizer.get_vocab()),
            hidden_size=recipe.hidden_size,
            num_hidden_layers=recipe.layers,
            num_attention_heads=recipe.heads,
            intermediate_size=recipe.intermediate_size,
            max_position_embeddings=recipe.max_seq_length,
            hidden_dropout_prob=0.0,  # every step sees fresh synthetic data; dropout would only slow learning
            attention_probs_dropout_prob=0.0,
        )
        model = BertForQuestionAnswering(config)
        _init_positions(model.bert.embeddings.position_embeddings.weight, recipe.position_init_scale)
        losses = _fit(model, inputs, labels, recipe)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    report = {
        "recipe": asdict(recipe),
        "train_examples": len(data.examples),
        "train_features": len(features),
        "final_loss": float(np.mean(losses[-20:])),
        "prepare_seconds": round(prepared - started, 2),
        "train_seconds": round(time.perf_counter() - started, 2),
    }
    (out_dir / TRAINING_REPORT).write_text(json.dumps(report, indent=2), encoding="utf-8")


def _labels(features: Sequence[Feature], examples: Sequence[Example]) -> np.ndarray:
    """Start/end token of each feature's answer, [CLS] (0, 0) when unanswerable or not wholly inside the window."""
    spans = np.full((len(features), 2), -1, dtype=np.int64)  # -1 never matches an offset, so it labels [CLS]
    for index, feature in enumerate(features):
        example = examples[feature.example_index]
        if example.answers:
            span = answer_span(example.context, example.answers[0])
            assert span is not None  # load_squad and the generator both guarantee it
            spans[index] = span
    offsets = np.stack([feature.offsets for feature in features])  # [n, seq, 2], -1 outside the context
    in_context = offsets[:, :, 0] >= 0
    char_start, char_end = spans[:, :1], spans[:, 1:]
    starts = in_context & (offsets[:, :, 0] <= char_start) & (char_start < offsets[:, :, 1])
    ends = in_context & (offsets[:, :, 0] < char_end) & (char_end <= offsets[:, :, 1])
    inside = starts.any(axis=1) & ends.any(axis=1)
    return np.where(inside[:, None], np.stack([starts.argmax(axis=1), ends.argmax(axis=1)], axis=1), 0)


def _init_positions(weight: torch.Tensor, scale: float) -> None:
    """Start position embeddings as scaled sinusoids instead of noise.

    From random learned positions, "the token before/after me" takes a 2-layer model thousands of steps to find, and
    answer boundaries depend on it; sinusoids make neighbours a fixed rotation apart, so it is learnt in hundreds.
    """
    positions, dims = weight.shape
    angles = torch.arange(positions, dtype=torch.float32)[:, None] / torch.pow(
        10000.0, torch.arange(0, dims, 2, dtype=torch.float32) / dims
    )
    with torch.no_grad():
        weight[:, 0::2] = torch.sin(angles) * scale
        weight[:, 1::2] = torch.cos(angles) * scale


def _batches(lengths: torch.Tensor, batch_size: int, steps: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """Yield `steps` batches of feature indexes of similar length, in random order, reshuffling whenever the data
    is used up. A batch is cut to its longest sequence, so grouping by length halves the padding computed."""
    yielded = 0
    while True:
        order = torch.randperm(len(lengths), generator=generator)
        usable = len(order) - len(order) % batch_size
        pool = batch_size * _BUCKET_BATCHES
        batches = []
        for start in range(0, usable, pool):
            chunk = order[start : min(start + pool, usable)]
            chunk = chunk[torch.argsort(lengths[chunk], stable=True)]
            batches += list(chunk.split(batch_size))
        for index in torch.randperm(len(batches), generator=generator).tolist():
            if yielded == steps:
                return
            yield batches[index]
            yielded += 1


def _fit(
    model: BertForQuestionAnswering, inputs: dict[str, torch.Tensor], labels: torch.Tensor, recipe: Recipe
) -> list[float]:
    """AdamW with linear warmup and decay; returns the loss of every step."""
    generator = torch.Generator().manual_seed(recipe.torch_seed)
    optimizer, schedule = adamw_warmup_decay(
        model, recipe.learning_rate, recipe.weight_decay, recipe.steps, recipe.warmup_fraction
    )
    lengths = inputs["attention_mask"].sum(dim=1)
    losses: list[float] = []
    model.train()
    for batch in _batches(lengths, recipe.batch_size, recipe.steps, generator):
        # Cut the batch to its longest real sequence: padding costs time and only adds never-right answer positions.
        length = int(lengths[batch].max())
        output = model(
            **{name: tensor[batch, :length] for name, tensor in inputs.items()},
            start_positions=labels[batch, 0],
            end_positions=labels[batch, 1],
        )
        optimizer.zero_grad()
        output.loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(output.loss.item())
    model.eval()
    return losses


def main(argv: Sequence[str] | None = None) -> None:
    out = train_on_request(
        argv, "the tiny QA model", lambda: tiny_qa_model_dir(MODEL_CACHE), lambda o: train(Recipe(), o)
    )
    from pytest_triton.export.fingerprint import WEIGHTS_DIGITS, weights_digest
    from pytest_triton.models.bert import bert_spec

    # The digest accuracy baselines record (their "weights"), so a retrained model can be told from the shipped one.
    digest = weights_digest(bert_spec("tiny", out).reference_module())[:WEIGHTS_DIGITS]
    print(f"{out}\nweights digest {digest}\nuse it with --triton-checkpoint=bert-tiny={out}")


if __name__ == "__main__":
    main()
