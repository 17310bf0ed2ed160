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

from _common import GOLD, offline, write_result

from assistant.answerer import AbstentionPolicy
from assistant.evaluation import load_gold
from assistant.service import build_assistant
from assistant.settings import Settings

THRESHOLDS = [round(0.74 + 0.005 * i, 3) for i in range(21)]


def main(argv: list[str]) -> int:
    offline()
    files = [Path(a) for a in argv] or [GOLD]
    with tempfile.TemporaryDirectory() as data_dir:
        service, _ = build_assistant(Settings(data_dir=Path(data_dir)))
        answerer = service._answerer
        rows = []
        for path in files:
            for item in load_gold(path):
                prepared = service._prepare(item.question, item.history)
                ranking = service._retriever.rank(prepared.query)
                others = AbstentionPolicy(0.0, answerer._policy.known_names).reason(
                    item.question, prepared.language, ranking, answerer._text
                )
                rows.append((item.id, item.answerable, ranking.best_similarity, others))
        service.close()
    sweep = []
    print(f"{'threshold':>9}  {'accuracy':>8}  wrongly refused / wrongly answered")
    for threshold in THRESHOLDS:
        refused = [i for i, ok, best, other in rows if ok and (best < threshold or other)]
        answered = [i for i, ok, best, other in rows if not ok and best >= threshold and not other]
        accuracy = 1 - (len(refused) + len(answered)) / len(rows)
        sweep.append(
            {
                "threshold": threshold,
                "accuracy": round(accuracy, 4),
                "wrongly_refused": refused,
                "wrongly_answered": answered,
            }
        )
        print(f"{threshold:>9.3f}  {accuracy:>8.3f}  {len(refused)} / {len(answered)}")
    best = max(s["accuracy"] for s in sweep)
    plateau = [s["threshold"] for s in sweep if s["accuracy"] >= best - 0.01]
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
