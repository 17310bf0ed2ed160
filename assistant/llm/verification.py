"""Citation verification, in code, before a generated answer is shown.

The answer is split into sentences (incrementally, so a stream is checked as it arrives).
Each ``[§n]`` marker (also ``[§4, §5]``, ``[§4][§5]``) must name a paragraph that exists
and was given to the model, and must support the sentence: close in embedding (at least
``threshold``; no uncited paragraph within ``margin``), with every number and name of the
sentence known. Unsupported markers and sentences are removed; each removal says why.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field

from assistant.llm.consistency import Opposites, PolarityCheck, negations
from assistant.llm.facts import Confusables, NamedFacts
from assistant.llm.support_texts import VersionUnits, unit, verbatim
from assistant.markers import MARKER_RUN, Piece, SentenceSplitter, cited_numbers, strip_markers
from assistant.result import Removal
from assistant.settings import LLMSettings
from assistant.text import KnownNames, content_terms, fold, numbers, prefixes, uses, words
from index.document import Document
from index.embedders import Embedder
from index.versions import Versions

__all__ = ["AnswerChecker", "Checked", "CitationVerifier", "Support"]


def _cut(number: int, claim: str, reason: str) -> Removal:
    return Removal(kind="citation", paragraph=number, text=claim, reason=reason)


def _drop(claim: str, reason: str) -> Removal:
    return Removal(kind="sentence", paragraph=None, text=claim, reason=reason)


@dataclass(frozen=True)
class Support:
    """How well a claim fits one paragraph, and the paragraph's best-fitting sentence."""

    score: float
    sentence: int


@dataclass(frozen=True)
class Checked:
    """One sentence after verification; ``text`` is empty when it was dropped."""

    text: str
    cited: bool
    kept: tuple[int, ...] = ()
    evidence: dict[int, int] = field(default_factory=dict)
    removed: tuple[Removal, ...] = ()


# A quotation: words between double quotes of any typography.
_QUOTED = re.compile(r"[\"“„«]\s*([^\"“”„«»]{3,}?)\s*[\"”“»]")


_CLAUSE_BREAK = re.compile(r"(?<=[,;:])\s+")


def _clauses(sentence: str, shortest: int = 6) -> list[str]:
    """The clauses of a sentence: split at , ; : and joined again until each has
    ``shortest`` words (a list of names is no clause)."""
    clauses: list[str] = []
    for part in _CLAUSE_BREAK.split(sentence):
        if clauses and len(clauses[-1].split()) < shortest:
            clauses[-1] += " " + part
        else:
            clauses.append(part)
    if len(clauses) > 1 and len(clauses[-1].split()) < shortest:
        clauses[-2] += " " + clauses.pop()
    return clauses


def _dot(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


class CitationVerifier:
    """Checks that each cited sentence is supported by the paragraph it cites."""

    def __init__(
        self,
        document: Document,
        embedder: Embedder,
        *,
        threshold: float,
        margin: float,
        lexical_weight: float = 0.0,
        joint_tolerance: float = 0.04,
        novel_terms: int = 0,
        known_names: KnownNames | None = None,
        polarity: PolarityCheck | None = None,
        versions: Versions | None = None,
        confusables: Confusables | None = None,
    ) -> None:
        self._embedder = embedder
        self.threshold = threshold
        self.margin = margin
        self.lexical_weight = lexical_weight
        self.joint_tolerance = joint_tolerance
        self.novel_terms = novel_terms  # this many words the document never uses: invented
        self._texts = {p.number: p.text for p in document.paragraphs}
        self._verbatim = {n: verbatim(text) for n, text in self._texts.items()}
        self._sentences = {
            (p.number, s.index): s.text for p in document.paragraphs for s in p.sentences
        }
        self.polarity = polarity if polarity is not None else PolarityCheck()  # a Dutch text
        # Each sentence's clauses, embedded: a claim in another language is weighed against
        # the clause it rests on, not a long sentence's other clauses.
        self._clause_vectors: dict[str, list[float]] = {}  # a version's, embedded when needed
        self._clauses: dict[tuple[int, int], list[tuple[str, list[float]]]] = {
            key: [(c, unit(embedder.embed_query(c))) for c in _clauses(text)]
            for key, text in self._sentences.items()
        }
        self._numbers = {n: numbers(text) for n, text in self._texts.items()}
        self._words = {n: words(text) for n, text in self._texts.items()}
        self._stems = {n: prefixes(ws) for n, ws in self._words.items()}
        # Claims and paragraph units are embedded alike (e5 'query' mode, symmetric);
        # index -1 is the whole paragraph, for claims that sum up several sentences.
        self._units: dict[int, list[tuple[int, list[float]]]] = {}
        for paragraph in document.paragraphs:
            texts = [s.text for s in paragraph.sentences] + [paragraph.text]
            indices = [s.index for s in paragraph.sentences] + [-1]
            vectors = [unit(embedder.embed_query(t)) for t in texts]
            self._units[paragraph.number] = list(zip(indices, vectors, strict=True))
        # A claim in the language of a version is weighed against that version too, in its
        # own language: a sentence aligned with the original's counts as that sentence.
        self._versions: dict[str, VersionUnits] = {
            version.language: VersionUnits.of(version, embedder) for version in versions or ()
        }
        # The document's own words are names it knows, with or without a reviewed list.
        self.facts = NamedFacts(
            known_names or KnownNames.of(document),
            [(p.number, self.polarity.document_language, p.text) for p in document.paragraphs]
            + [(p.number, v.language, p.text) for v in versions or () for p in v.paragraphs],
            confusables,
        )

    @classmethod
    def from_settings(
        cls,
        document: Document,
        embedder: Embedder,
        llm: LLMSettings,
        known_names: KnownNames,
        versions: Versions | None = None,
        opposites: Opposites | None = None,
        confusables: Confusables | None = None,
    ) -> CitationVerifier:
        """The verifier with the ``llm`` section's calibrated thresholds."""
        return cls(
            document,
            embedder,
            threshold=llm.support_threshold,
            margin=llm.support_margin,
            lexical_weight=llm.support_lexical_weight,
            joint_tolerance=llm.support_joint_tolerance,
            novel_terms=llm.support_novel_terms,
            known_names=known_names,
            polarity=PolarityCheck(opposites=opposites or Opposites()),
            versions=versions,
            confusables=confusables,
        )

    def _lexical(self, claim: str, language: str, number: int) -> float:
        terms = content_terms(claim, language)
        if not terms:
            return 0.0
        known, stems = self._words[number], self._stems[number]
        version = self._versions.get(language)
        if version is not None:
            known, stems = known | version.words[number], stems | version.stems[number]
        return sum(uses(t, known, stems) for t in terms) / len(terms)

    def scores(
        self, claim: str, language: str, vector: list[float] | None = None
    ) -> dict[int, Support]:
        """Support of ``claim`` (markers removed) by every paragraph of the document."""
        vector = vector or unit(self._embedder.embed_query(claim))
        version = self._versions.get(language)
        result: dict[int, Support] = {}
        for number, units in self._units.items():
            if version is not None:
                units = units + version.units[number]
            sims = [(sum(a * b for a, b in zip(vector, v, strict=True)), i) for i, v in units]
            best = max(s for s, _ in sims)
            sentence = max((s, i) for s, i in sims if i >= 0)[1] if len(sims) > 1 else 0
            lexical = self.lexical_weight * self._lexical(claim, language, number)
            result[number] = Support(best + lexical, sentence)
        return result

    def _support(self, vector: list[float], language: str, number: int, support: Support) -> str:
        """The text a claim rests on: its best sentence, in the claim's language where a
        version aligned by sentence has one; across languages, that sentence's clause nearest
        to the claim (a claim in the text's language is aligned with it word for word)."""
        key = (number, support.sentence)
        version = self._versions.get(language)
        if version is not None and key in version.sentences:
            return version.sentences[key]
        clauses = self._clauses.get(key, [])
        if language == self.polarity.document_language or len(clauses) < 2:
            return self._sentences.get(key, "")
        return max(clauses, key=lambda c: sum(a * b for a, b in zip(vector, c[1], strict=True)))[0]

    def judge(
        self,
        claim: str,
        number: int,
        scores: dict[int, Support],
        together: Collection[int] = (),
    ) -> str | None:
        """Why paragraph ``number`` does not support ``claim``, or None when it does.

        ``together``: the paragraphs the sentence cites. They are not each other's
        competitors, but each must come within ``joint_tolerance`` of the best of them.
        """
        missing = numbers(claim) - self._numbers[number]
        if missing:
            return f"states {', '.join(sorted(missing))}, which §{number} does not mention"
        score = scores[number].score
        if score < self.threshold:
            return f"support {score:.3f} is below {self.threshold:.3f}"
        lead, leader = max([(scores[n].score, n) for n in together], default=(score, number))
        if score < lead - self.joint_tolerance:
            return f"§{leader} fits it far better ({lead:.3f} vs {score:.3f})"
        others = [(s.score, n) for n, s in scores.items() if n != number and n not in together]
        if others:
            best, other = max(others)
            if score < best + self.margin:
                return (
                    f"§{other} fits it as well ({best:.3f} vs {score:.3f}, "
                    f"margin {self.margin:+.3f})"
                )
        return None

    def misquoted(self, claim: str, number: int, language: str = "") -> str | None:
        """Why a quotation in ``claim`` is not verbatim in paragraph ``number`` (or in its
        version in ``language``), or None."""
        version = self._versions.get(language)
        texts = [self._verbatim[number]] + ([version.verbatim[number]] if version else [])
        for quoted in _QUOTED.findall(claim):
            if not any(verbatim(quoted) in text for text in texts):
                return f'quotes "{quoted}", which §{number} does not say word for word'
        return None

    def _reversed(
        self, claim: str, language: str, vector: list[float], number: int, support: Support
    ) -> str | None:
        text = self._support(vector, language, number, support)
        in_version = (number, support.sentence) in getattr(
            self._versions.get(language), "sentences", {}
        )
        text_language = language if in_version else self.polarity.document_language
        if in_version and negations(text, text_language) > 1:
            # Which of the sentence's negations the claim rests on: its nearest clause's.
            text = max(_clauses(text), key=lambda c: _dot(vector, self._clause_vector(c)))
        return self.polarity.reversed(claim, language, text, language if in_version else None)

    def _absent(self, claim: str, language: str, number: int) -> str | None:
        absent = self.facts.absent_names(claim, language, number)
        return f"names {', '.join(absent)}, which §{number} does not mention" if absent else None

    def _clause_vector(self, clause: str) -> list[float]:
        if clause not in self._clause_vectors:
            self._clause_vectors[clause] = unit(self._embedder.embed_query(clause))
        return self._clause_vectors[clause]

    def check(self, sentence: str, language: str, given: Collection[int]) -> Checked:
        """Verify one answer sentence against the paragraphs it cites."""
        cited = cited_numbers(sentence)
        if not cited:
            return Checked(sentence, cited=False)
        claim = strip_markers(sentence)
        removed: list[Removal] = []
        valid: list[int] = []
        for number in cited:
            if number not in self._texts:
                removed.append(_cut(number, claim, f"there is no paragraph {number}"))
            elif number not in given:
                removed.append(_cut(number, claim, f"§{number} was not given to the model"))
            else:
                valid.append(number)
        kept: list[int] = []
        evidence: dict[int, int] = {}
        if valid:
            vector = unit(self._embedder.embed_query(claim))
            scores = self.scores(claim, language, vector)
            unknown = self.facts.unknown_names(claim, language)
            invented = self.facts.invented(claim, language, self.novel_terms)
            for number in valid:
                reason = (
                    f"names {', '.join(unknown)}, which the document never mentions"
                    if unknown
                    else invented
                    or self.misquoted(claim, number, language)
                    or self.facts.misdated(claim, language, number)
                    or self.facts.miscounted(claim, language, number)
                    or self.facts.unfounded_amount(claim, number)
                    or self.judge(claim, number, scores, together=valid)
                    or self._reversed(claim, language, vector, number, scores[number])
                    or self._absent(claim, language, number)
                )
                if reason is None:
                    kept.append(number)
                    evidence[number] = scores[number].sentence
                else:
                    removed.append(_cut(number, claim, reason))
        if not kept:
            removed.append(_drop(claim, "no citation of it is supported"))
            return Checked("", cited=True, removed=tuple(removed))

        def render(match: re.Match[str]) -> str:
            own = [n for n in cited_numbers(match.group()) if n in kept]
            return (" " + "".join(f"[§{n}]" for n in own)) if own else ""

        text = MARKER_RUN.sub(render, sentence)
        text = re.sub(r"(\])\s+([.,;:!?])", r"\1\2", text).strip()
        return Checked(
            text, cited=True, kept=tuple(kept), evidence=evidence, removed=tuple(removed)
        )


class AnswerChecker:
    """Verifies an answer fed in chunks; gives back only the text that passed.

    Uncited sentences are dropped, except lead-ins ('Yes.', '...:'), held back until a
    supported sentence follows; the abstention sentence sets ``declined``.
    """

    def __init__(
        self, verifier: CitationVerifier, language: str, given: Collection[int], abstain: str
    ) -> None:
        self._verifier = verifier
        self._language = language
        self._given = frozenset(given)
        self._abstain = " ".join(re.findall(r"\w+", fold(abstain)))
        self._splitter = SentenceSplitter()
        self._held: list[tuple[Piece, str]] = []
        self._line: int | None = None
        self.text = ""
        self.removed: list[Removal] = []
        self.evidence: dict[int, list[int]] = {}
        self.claims: list[tuple[str, int, int]] = []  # (kept sentence, paragraph, sentence)
        self.declined = False

    @property
    def supported(self) -> bool:
        """True once at least one cited sentence passed."""
        return bool(self.evidence)

    def feed(self, chunk: str) -> str:
        """The verified text that ``chunk`` completes (often empty)."""
        return "".join(self._take(piece) for piece in self._splitter.feed(chunk))

    def finish(self) -> str:
        """The verified text of the last sentence; held lead-ins are dropped."""
        out = "".join(self._take(piece) for piece in self._splitter.finish())
        self._held.clear()
        return out

    def _emit(self, piece: Piece, text: str) -> str:
        if not self.text:
            joined = piece.prefix + text
        elif piece.line != self._line:
            joined = "\n" + piece.prefix + text
        else:
            joined = " " + text
        self._line = piece.line
        self.text += joined
        return joined

    def _take(self, piece: Piece) -> str:
        checked = self._verifier.check(piece.text, self._language, self._given)
        self.removed.extend(checked.removed)
        if not checked.cited:
            plain = " ".join(re.findall(r"\w+", fold(piece.text)))
            if plain and plain == self._abstain:
                self.declined = True
            elif piece.text.endswith(":") or len(content_terms(piece.text, self._language)) < 2:
                self._held.append((piece, piece.text))
            else:
                self.removed.append(_drop(piece.text, "states something without a citation"))
            return ""
        if not checked.text:
            return ""
        claim = strip_markers(checked.text).strip()
        for number, sentence in checked.evidence.items():
            self.claims.append((claim, number, sentence))
            self.evidence.setdefault(number, [])
            if sentence not in self.evidence[number]:
                self.evidence[number].append(sentence)
        held, self._held = self._held, []
        return "".join(self._emit(p, t) for p, t in [*held, (piece, checked.text)])
