"""Calibrate the abstention threshold on gold questions; print the sweep, write JSON.

For every gold item it records the best sentence similarity and whether the other two
signals (a number or a name the document never mentions) already abstain; then it sweeps
the similarity threshold and reports abstention accuracy and the answerable questions
each threshold would wrongly refuse. Pick the middle of the plateau, not its edge.

    python benchmarks/calibrate_abstention.py [GOLD.jsonl ...]
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from _common import GOLD, offline, write_result

from assistant import build_assistant
from assistant.evaluation import load_gold
from assistant.settings import Settings

THRESHOLDS = [round(0.74 + 0.005 * i, 3) for i in range(37)]
FOLDS = 5
Row = tuple[str, bool, float, str | None]


def _score(rows: list[Row], threshold: float) -> dict[str, Any]:
    refused = [i for i, ok, best, other in rows if ok and (best < threshold or other)]
    answered = [i for i, ok, best, other in rows if not ok and best >= threshold and not other]
    return {
        "threshold": threshold,
        "accuracy": round(1 - (len(refused) + len(answered)) / len(rows), 4),
        "wrongly_refused": refused,
        "wrongly_answered": answered,
    }


def _choose(rows: list[Row]) -> tuple[float, list[float]]:
    """The rule: the middle of the thresholds within 0.01 of the best accuracy."""
    accuracy = {t: float(_score(rows, t)["accuracy"]) for t in THRESHOLDS}
    best = max(accuracy.values())
    plateau = [t for t in THRESHOLDS if accuracy[t] >= best - 0.01]
    return plateau[len(plateau) // 2], plateau


def _cross_validate(rows: list[Row]) -> dict[str, Any]:
    """Held-out accuracy of the rule: chosen on four folds, scored on the fifth."""
    right, thresholds = 0.0, []
    for fold in range(FOLDS):
        train = [r for i, r in enumerate(rows) if i % FOLDS != fold]
        test = [r for i, r in enumerate(rows) if i % FOLDS == fold]
        chosen, _ = _choose(train)
        thresholds.append(chosen)
        right += float(_score(test, chosen)["accuracy"]) * len(test)
    return {"accuracy": round(right / len(rows), 4), "thresholds": thresholds}


def main(argv: list[str]) -> int:
    offline()
    files = [Path(a) for a in argv] or [GOLD]
    with tempfile.TemporaryDirectory() as data_dir:
        built = build_assistant(Settings(data_dir=Path(data_dir)))
        others_only = replace(built.policy, min_similarity=0.0)
        rows: list[Row] = []
        for path in files:
            for item in load_gold(path):
                query = built.service.query(item.question, item.history)
                ranking = built.retriever.rank(query)
                refusal = others_only.refusal(item.question, query.language, ranking)
                others = None if refusal is None else refusal.reason
                rows.append((item.id, item.answerable, ranking.best_similarity, others))
        built.close()
    sweep = [_score(rows, threshold) for threshold in THRESHOLDS]
    print(f"{'threshold':>9}  {'accuracy':>8}  wrongly refused / wrongly answered")
    for point in sweep:
        print(
            f"{point['threshold']:>9.3f}  {point['accuracy']:>8.3f}  "
            f"{len(point['wrongly_refused'])} / {len(point['wrongly_answered'])}"
        )
    middle, plateau = _choose(rows)
    held_out = _cross_validate(rows)
    print(f"\nwithin 0.01 of the best: {plateau[0]}-{plateau[-1]}; middle {middle}")
    print(
        f"{FOLDS}-fold cross-validation (the rule on 4/5, scored on the rest): held-out "
        f"accuracy {held_out['accuracy']:.3f}, thresholds {held_out['thresholds']}"
    )
    write_result(
        "abstention",
        {
            "files": [str(f) for f in files],
            "items": len(rows),
            "sweep": sweep,
            "plateau": plateau,
            "suggested": middle,
            "cross_validation": held_out,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
