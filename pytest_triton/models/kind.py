"""What kind of model a deployment is, as Triton runs it: stateless, an ensemble of steps, a sequence model keeping
state per correlation ID, a decoupled model streaming its responses (a model can be both of the last two). Read
from the served config; the checks send requests the way the kind wants them.

Light on purpose (specs are declared before anything heavy is imported): the config is read by attribute, never
imported here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping

if TYPE_CHECKING:
    from tritonclient.grpc import model_config_pb2 as mc


@dataclass(frozen=True)
class EnsembleStep:
    """One step of an ensemble: the model it runs and how its tensors map to the ensemble's."""

    model: str
    version: int  # -1: the latest version the server serves
    # The step's input -> the ensemble's tensor, and its output -> the ensemble's tensor (not hashed: dicts).
    inputs: Mapping[str, str] = field(default_factory=dict, hash=False)
    outputs: Mapping[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Sequencing:
    """How a sequence model's requests are scheduled: each carries a correlation ID and START/END flags, and the
    server fills in the control inputs (start, end, ready, correlation ID) the model declares."""

    strategy: str = "direct"  # or "oldest"
    # How many sequences the server runs at once; the others wait for a slot.
    slots: int = 1
    # Whether a READY control input tells the model the null requests the direct strategy sends for idle slots.
    reads_ready: bool = False


@dataclass(frozen=True)
class ModelKind:
    """A model's kind. The default is stateless: one request in, one response out, no state between requests."""

    steps: tuple[EnsembleStep, ...] = ()
    sequence: Sequencing | None = None
    decoupled: bool = False

    @property
    def is_stateless(self) -> bool:
        return not self.steps and self.sequence is None and not self.decoupled

    def describe(self) -> str:
        """In words, for reports: "stateless", "ensemble of offset -> double", "decoupled sequence (direct)"."""
        if self.steps:
            return "ensemble of " + " -> ".join(step.model for step in self.steps)
        words = (["decoupled"] if self.decoupled else []) + (
            [f"sequence ({self.sequence.strategy})"] if self.sequence else []
        )
        return " ".join(words) or "stateless"


STATELESS = ModelKind()


def kind_from_config(config: mc.ModelConfig) -> ModelKind:
    """The kind a served config declares; an ensemble's steps in the order its data flows through them."""
    steps = _in_flow_order(
        [
            EnsembleStep(step.model_name, int(step.model_version), dict(step.input_map), dict(step.output_map))
            for step in config.ensemble_scheduling.step
        ],
        {tensor.name for tensor in config.input},
    )
    sequence = None
    if config.HasField("sequence_batching"):
        batching = config.sequence_batching
        strategy = batching.WhichOneof("strategy_choice") or "direct"
        sequence = Sequencing(
            strategy=strategy,
            slots=_slots(config, strategy),
            reads_ready=any(
                each.kind == each.CONTROL_SEQUENCE_READY
                for control in batching.control_input
                for each in control.control
            ),
        )
    return ModelKind(steps, sequence, bool(config.model_transaction_policy.decoupled))


def _slots(config: mc.ModelConfig, strategy: str) -> int:
    """Sequences run at once: the oldest strategy's candidates; the direct strategy's batch slots, a batch per
    instance (an instance group's count on each of its GPUs)."""
    if strategy == "oldest":
        return max(1, int(config.sequence_batching.oldest.max_candidate_sequences))
    instances = sum(max(1, group.count) * max(1, len(group.gpus)) for group in config.instance_group)
    return max(1, config.max_batch_size) * max(1, instances)


def _in_flow_order(steps: list[EnsembleStep], inputs: set[str]) -> tuple[EnsembleStep, ...]:
    """The steps in an order that runs each after the steps whose outputs it takes (Triton runs a step once its
    inputs are there, whatever the config's order); steps that never get their inputs keep the config's order, last."""
    available, ordered, waiting = set(inputs), [], list(steps)
    while ready := [step for step in waiting if set(step.inputs.values()) <= available]:
        for step in ready:
            ordered.append(step)
            waiting.remove(step)
            available |= set(step.outputs.values())
    return tuple(ordered + waiting)
