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
from pathlib import Path
from typing import Any

from _common import GOLD, offline, write_result

from assistant import build_assistant
from assistant.answering import AbstentionPolicy
from assistant.evaluation import load_gold
from assistant.settings import Settings

THRESHOLDS = [round(0.74 + 0.005 * i, 3) for i in range(21)]


def main(argv: list[str]) -> int:
    offline()
    files = [Path(a) for a in argv] or [GOLD]
    with tempfile.TemporaryDirectory() as data_dir:
        built = build_assistant(Settings(data_dir=Path(data_dir)))
        text = " ".join(p.text for p in built.document.paragraphs)
        others_only = AbstentionPolicy(0.0, built.policy.known_names)
        rows = []
        for path in files:
            for item in load_gold(path):
                query = built.service.query(item.question, item.history)
                ranking = built.retriever.rank(query)
                others = others_only.reason(item.question, query.language, ranking, text)
                rows.append((item.id, item.answerable, ranking.best_similarity, others))
        built.close()
    sweep: list[dict[str, Any]] = []
    accuracies: dict[float, float] = {}
    print(f"{'threshold':>9}  {'accuracy':>8}  wrongly refused / wrongly answered")
    for threshold in THRESHOLDS:
        refused = [i for i, ok, best, other in rows if ok and (best < threshold or other)]
        answered = [i for i, ok, best, other in rows if not ok and best >= threshold and not other]
        accuracy = 1 - (len(refused) + len(answered)) / len(rows)
        accuracies[threshold] = accuracy
        sweep.append(
            {
                "threshold": threshold,
                "accuracy": round(accuracy, 4),
                "wrongly_refused": refused,
                "wrongly_answered": answered,
            }
        )
        print(f"{threshold:>9.3f}  {accuracy:>8.3f}  {len(refused)} / {len(answered)}")
    best = max(accuracies.values())
    plateau = [t for t, accuracy in accuracies.items() if accuracy >= best - 0.01]
    middle = plateau[len(plateau) // 2]
    print(f"\nbest accuracy {best:.3f}; within 0.01: {plateau[0]}-{plateau[-1]}; middle {middle}")
    write_result(
        "abstention",
        {
            "files": [str(f) for f in files],
            "items": len(rows),
            "sweep": sweep,
            "plateau": plateau,
            "suggested": middle,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
