"""Person-held-out validation of the engine (``make eval``): faces, voice and text, each figure beside a
trivial baseline computed in the same run on the same held-out people, written to ``docs/validation.md``.

Each part (``bench.eval.faces``, ``bench.eval.voice``, ``bench.eval.text``) has ``evaluate(data: Path) ->
list[Row]`` over the labelled calibration data (``../shared/data``, which users' test runs never need), and
must only report figures on people it did not tune on (leave-one-person-out, or a fixed split by person).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Row"]


@dataclass(frozen=True)
class Row:
    """One line of the validation table."""

    part: str  # faces | voice | text
    check: str  # what is measured, e.g. "neutral → smiling: AU12 rises"
    held_out: str  # how people were held out, e.g. "42 people, leave-one-person-out"
    engine: float  # the engine's figure on held-out people
    baseline: float | None  # the trivial baseline's figure on the same people, same run (None: none applies)
    baseline_name: str = ""  # e.g. "raw mouthSmile blendshape mean"
    goal: float | None = None  # the target for ``engine`` (None: reported, no target)
    unit: str = ""  # "%" (0–100), "AUC", "r"
    note: str = ""  # where it is worse, what it does not show

    @property
    def met(self) -> bool | None:
        """Whether the engine reached its goal (None without one)."""
        return None if self.goal is None else self.engine >= self.goal
