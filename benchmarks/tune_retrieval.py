"""Choose the retrieval constants by cross-validation on the dev split; print, write JSON.

Every combination of the grid ranks every answerable dev question (the same index, the
same embedder); a fold's constants are the best hit@1 on the other folds, scored on it.
The held-out hit@1 is what to expect on new questions; the test split is never read.

    python benchmarks/tune_retrieval.py [--versions] [GOLD.jsonl ...]
        (default: tests/gold/dev*.jsonl; --versions: the language versions' constants)
"""

from __future__ import annotations

import itertools
import sys
import tempfile
from pathlib import Path
from typing import Any

from _common import REPO, offline, write_result

from assistant import build_assistant
from assistant.evaluation import load_gold
from assistant.retrieval import HybridRetriever
from assistant.settings import Settings

FOLDS = 5
GRID: dict[str, list[Any]] = {
    "bm25_weight": [0.0, 0.25],
    "exact_weight": [0.0, 2.0],
    "question_weight": [None, 1.0],
    "question_offset": [0.0, 0.01, 0.02, 0.03, 0.05],
    "version_weight": [0.5],
    "version_bm25": [True],
}
# The language versions' constants, with the others at their settings' values:
# ``--versions`` searches this grid instead.
VERSION_GRID: dict[str, list[Any]] = {
    "bm25_weight": [0.25],
    "exact_weight": [2.0],
    "question_weight": [None],
    "question_offset": [0.0, 0.02, 0.03],
    "version_weight": [0.0, 0.5, 1.0, 2.0],
    "version_bm25": [False, True],
}


def _combos(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    return [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]


def _best(hits: dict[int, list[bool]], rows: list[int]) -> int:
    """The combination with the most hits on ``rows`` (the first of ties: the grid's order)."""
    return max(hits, key=lambda c: (sum(hits[c][r] for r in rows), -c))


def main(argv: list[str]) -> int:
    offline()
    grid = VERSION_GRID if "--versions" in argv else GRID
    argv = [a for a in argv if a != "--versions"]
    files = [Path(a) for a in argv] or sorted((REPO / "tests" / "gold").glob("dev*.jsonl"))
    items = [i for f in files for i in load_gold(f) if i.answerable]
    combos = _combos(grid)
    with tempfile.TemporaryDirectory() as data_dir:
        built = build_assistant(Settings(data_dir=Path(data_dir)))
        index = built.service.index
        queries = [built.service.query(i.question, i.history) for i in items]
        hits: dict[int, list[bool]] = {}
        for c, params in enumerate(combos):
            # As the assistant ranks: with the language versions and their kept BM25.
            retriever = HybridRetriever(
                built.document,
                index,
                versions=built.service.versions,
                lexical_store=Path(data_dir) / "lexical",
                **params,
            )
            hits[c] = [
                retriever.rank(q).order[0] in item.paragraphs
                for q, item in zip(queries, items, strict=True)
            ]
            print(f"{params}: hit@1 {sum(hits[c]) / len(items):.3f}", flush=True)
        built.close()
    everything = list(range(len(items)))
    chosen = _best(hits, everything)
    held_out, per_fold = 0, []
    for fold in range(FOLDS):
        train = [r for r in everything if r % FOLDS != fold]
        test = [r for r in everything if r % FOLDS == fold]
        c = _best(hits, train)
        per_fold.append(combos[c])
        held_out += sum(hits[c][r] for r in test)
    print(f"\nchosen on all of dev: {combos[chosen]} (hit@1 {sum(hits[chosen]) / len(items):.3f})")
    print(f"{FOLDS}-fold held-out hit@1: {held_out / len(items):.3f}; per fold: {per_fold}")
    write_result(
        "retrieval_tuning_versions" if grid is VERSION_GRID else "retrieval_tuning",
        {
            "files": [str(f.relative_to(REPO)) for f in files],
            "answerable": len(items),
            "grid": grid,
            "hit_at_1": {str(combos[c]): round(sum(h) / len(items), 4) for c, h in hits.items()},
            "chosen": combos[chosen],
            "held_out_hit_at_1": round(held_out / len(items), 4),
            "per_fold": per_fold,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
