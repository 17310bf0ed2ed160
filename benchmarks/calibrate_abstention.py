"""Calibrate the abstention threshold and the unanswered margin on gold questions.

For every gold item it records the best similarity, how much nearer the nearest
unanswered exemplar is (its gap), and whether the other signals already abstain; then it
sweeps the similarity threshold (unanswered exemplars left out), and the unanswered margin
at the configured threshold, and reports abstention accuracy and the questions each value
would wrongly refuse or answer. Pick the middle of the plateau, not its edge.

    python benchmarks/calibrate_abstention.py [GOLD.jsonl ...]
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from _common import GOLD, REPO, offline, write_result

from assistant import build_assistant
from assistant.evaluation import load_gold
from assistant.settings import Settings

THRESHOLDS = [round(0.74 + 0.005 * i, 3) for i in range(37)]
MARGINS = [round(-0.03 + 0.005 * i, 3) for i in range(23)]
FOLDS = 5
NEVER = 1.0  # a margin no gap reaches: the unanswered exemplars left out


@dataclass(frozen=True)
class Row:
    id: str
    answerable: bool
    best: float
    gap: float  # the nearest unanswered exemplar's similarity minus ``best``
    other: str | None  # the reason another signal refuses, if one does


Refuses = Callable[[Row, float], bool]


def _by_threshold(row: Row, threshold: float) -> bool:
    return row.best < threshold or row.other is not None


def _by_margin(threshold: float) -> Refuses:
    def refuses(row: Row, margin: float) -> bool:
        return _by_threshold(row, threshold) or row.gap >= margin

    return refuses


def _score(rows: list[Row], value: float, refuses: Refuses) -> dict[str, Any]:
    refused = [r.id for r in rows if r.answerable and refuses(r, value)]
    answered = [r.id for r in rows if not r.answerable and not refuses(r, value)]
    return {
        "value": value,
        "accuracy": round(1 - (len(refused) + len(answered)) / len(rows), 4),
        "wrongly_refused": refused,
        "wrongly_answered": answered,
    }


def _choose(rows: list[Row], values: list[float], refuses: Refuses) -> tuple[float, list[float]]:
    """The rule: the middle of the values within 0.01 of the best accuracy."""
    accuracy = {v: float(_score(rows, v, refuses)["accuracy"]) for v in values}
    best = max(accuracy.values())
    plateau = [v for v in values if accuracy[v] >= best - 0.01]
    return plateau[len(plateau) // 2], plateau


def _cross_validate(rows: list[Row], values: list[float], refuses: Refuses) -> dict[str, Any]:
    """Held-out accuracy of the rule: chosen on four folds, scored on the fifth."""
    right, chosen_values = 0.0, []
    for fold in range(FOLDS):
        train = [r for i, r in enumerate(rows) if i % FOLDS != fold]
        test = [r for i, r in enumerate(rows) if i % FOLDS == fold]
        chosen, _ = _choose(train, values, refuses)
        chosen_values.append(chosen)
        right += float(_score(test, chosen, refuses)["accuracy"]) * len(test)
    return {"accuracy": round(right / len(rows), 4), "values": chosen_values}


def _report(name: str, rows: list[Row], values: list[float], refuses: Refuses) -> dict[str, Any]:
    sweep = [_score(rows, value, refuses) for value in values]
    print(f"\n{name:>9}  {'accuracy':>8}  wrongly refused / wrongly answered")
    for point in sweep:
        print(
            f"{point['value']:>9.3f}  {point['accuracy']:>8.3f}  "
            f"{len(point['wrongly_refused'])} / {len(point['wrongly_answered'])}"
        )
    middle, plateau = _choose(rows, values, refuses)
    held_out = _cross_validate(rows, values, refuses)
    print(f"within 0.01 of the best: {plateau[0]}-{plateau[-1]}; middle {middle}")
    print(
        f"{FOLDS}-fold cross-validation (the rule on 4/5, scored on the rest): held-out "
        f"accuracy {held_out['accuracy']:.3f}, values {held_out['values']}"
    )
    return {"sweep": sweep, "plateau": plateau, "suggested": middle, "cross_validation": held_out}


def main(argv: list[str]) -> int:
    offline()
    files = [Path(a) for a in argv] or [GOLD]
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(data_dir=Path(data_dir))
        # The unanswered exemplars are off by default; their margin is calibrated here.
        shipped = REPO / "index" / "data" / "unanswered.jsonl"
        settings = settings.model_copy(
            update={"unanswered_path": settings.unanswered_path or shipped}
        )
        built = build_assistant(settings)
        others_only = replace(built.policy, min_similarity=0.0, unanswered_margin=NEVER)
        rows: list[Row] = []
        for path in files:
            for item in load_gold(path):
                query = built.service.query(item.question, item.history)
                ranking = built.retriever.rank(query)
                refusal = others_only.refusal(item.question, query.language, ranking)
                best = ranking.best_similarity
                gap = ranking.unanswered_similarity - best if ranking.unanswered_similarity else -1
                other = None if refusal is None else refusal.reason
                rows.append(Row(item.id, item.answerable, best, gap, other))
        built.close()
    threshold = settings.abstain_min_dense
    write_result(
        "abstention",
        {
            "files": [str(f) for f in files],
            "items": len(rows),
            "threshold": _report("threshold", rows, THRESHOLDS, _by_threshold),
            f"unanswered margin (at threshold {threshold})": _report(
                "margin", rows, MARGINS, _by_margin(threshold)
            ),
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
