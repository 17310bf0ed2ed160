"""Whether a claim keeps the polarity of the sentence that supports it.

Embeddings barely tell "acceptable" from "unacceptable" or "caused damage" from "caused no
damage": a claim made of a paragraph's own words with its meaning reversed scores as high
as a faithful one. This check looks for the two ways a near-verbatim claim turns a
sentence round:

- an antonym: a word of the sentence with an antonym prefix dropped or added
  ('onaanvaardbaar' -> 'aanvaardbaar', 'niet-bindende' -> 'bindende');
- a negation word (niet/geen/nooit, not/no/never, pas/aucun/jamais, nicht/kein/nie) that
  negates something the other text also says, on one side only;
- a word of opposite direction from a reviewed list (``Opposites``: 'verzwakken' where the
  text says 'versterken', 'undermines' for 'contributes'), in the claim's own language
  against the sentence in that language (the original, or a language version).

A claim in the support's language (the document's, or a language version's) is aligned
with the sentence word for word, so a negation counts only where the words after it are in
the other text ('niet-statelijke actoren' in the sentence says nothing about a claim on
capacities). A claim in another
language cannot be aligned: its negation words and negated adjectives ('unacceptable',
'not acceptable', 'inacceptable', 'unzulässig') are counted against the sentence's, and
only where the sentence holds at most one, so that which one the claim rests on is clear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from assistant.text import Analyzer, fold

__all__ = ["Opposites", "PolarityCheck", "negations"]

# Words, hyphenated compounds kept whole ('niet-bindende', 'non-binding').
_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")
_NEGATION_WORDS: dict[str, frozenset[str]] = {
    "nl": frozenset({"niet", "geen", "nooit", "niets", "niemand", "nergens", "geenszins"}),
    "en": frozenset({"not", "no", "never", "none", "nothing", "nobody", "cannot", "nowhere",
                     "neither"}),
    "fr": frozenset({"pas", "aucun", "aucune", "jamais", "rien", "nullement"}),
    "de": frozenset({"nicht", "kein", "keine", "keinen", "keinem", "keiner", "keines", "nie",
                     "niemals", "nichts", "niemand", "weder"}),
}  # fmt: skip
# 'not only ... but also' negates nothing.
_NOT_ONLY = {"nl": ("alleen", "enkel", "slechts"), "en": ("only", "just", "merely"),
             "fr": ("seulement",), "de": ("nur", "allein")}  # fmt: skip
_PREFIXES: dict[str, tuple[str, ...]] = {
    "nl": ("niet-", "on"),
    "en": ("non-", "un", "in", "im", "il", "ir"),
    "fr": ("non-", "in", "im", "il", "ir"),
    "de": ("nicht-", "un"),
}
# Endings of the adjectives a prefix negates; they keep nouns and verbs ('incident',
# 'onderzoek', 'interconnected') out of the count.
_ADJECTIVES: dict[str, tuple[str, ...]] = {
    "nl": ("baar", "ijk", "ijke", "bare", "ig", "ige", "isch", "ische", "d", "de", "t", "te"),
    "en": ("able", "ible", "ful", "ive", "ous"),
    "fr": ("able", "ables", "ible", "ibles", "if", "ive", "ifs", "ives"),
    "de": ("bar", "bare", "lich", "liche", "ig", "ige", "haft", "sam"),
}  # fmt: skip
# Across languages only the clearest: adjectives of possibility (-baar, -able, -bar ...).
_CROSS_ADJECTIVES: dict[str, tuple[str, ...]] = {
    "nl": ("baar", "bare"),
    "en": ("able", "ible"),
    "fr": ("able", "ables", "ible", "ibles"),
    "de": ("bar", "bare"),
}
_NOT_ANTONYMS = frozenset({
    "onder", "onderling", "onderlinge", "ons", "onze", "ontwikkeld", "onlangs",
    "onmiddellijk", "onmiddellijke", "invaluable", "infamous", "inflammable",
    "unterschiedlich", "ungefähr",
})  # fmt: skip
_MIN_BASE = 4
# Words that narrow a statement to part of what it was about ('applies only to certain
# aspects' for 'applies'): a claim with one its same-language support lacks says less.
_RESTRICTIONS: dict[str, frozenset[str]] = {
    "nl": frozenset({"alleen", "slechts", "enkel", "uitsluitend", "sommige", "bepaalde",
                     "gedeeltelijk", "deels"}),
    "en": frozenset({"only", "solely", "merely", "some", "certain", "exclusively", "partly",
                     "partially"}),
    "fr": frozenset({"seulement", "uniquement", "certains", "certaines", "seuls", "seules",
                     "exclusivement", "partiellement"}),
    "de": frozenset({"nur", "lediglich", "ausschließlich", "einige", "manche", "bestimmte",
                     "bestimmten", "teilweise"}),
}  # fmt: skip
# Languages whose negation stands right before what it negates ('must not allow'), so that a
# claim can be aligned word for word with a version's sentence in its own language. French
# ('ne ... ni ... sciemment') and German (the verb at the end: 'nicht wissentlich ... nutzen
# zu lassen') negate across too many words; their negations are counted instead.
_LOCAL_NEGATION = frozenset({"en"})


def _words(text: str) -> list[str]:
    return [fold(w).replace("’", "'") for w in _WORD.findall(text)]


def _antonym(word: str, language: str, endings: dict[str, tuple[str, ...]] = _ADJECTIVES) -> str:
    """The adjective an antonym prefix negates ('onaanvaardbaar' -> 'aanvaardbaar'), or ''."""
    if word in _NOT_ANTONYMS:
        return ""
    for prefix in _PREFIXES.get(language, ()):
        base = word[len(prefix) :]
        if word.startswith(prefix) and len(base) >= _MIN_BASE and base.endswith(endings[language]):
            return base
    return ""


def _negating(words: list[str], language: str) -> list[int]:
    """Positions of the negation words that negate something ('not only' does not)."""
    own = _NEGATION_WORDS.get(language, frozenset())
    only = _NOT_ONLY.get(language, ())
    return [
        i
        for i, w in enumerate(words)
        if (w in own or w.endswith("n't") or _no_longer(words, i, language))
        and (i + 1 == len(words) or words[i + 1] not in only)
    ]


def _no_longer(words: list[str], i: int, language: str) -> bool:
    """French 'ne ... plus' ('n'insistera plus'): 'plus' after a 'ne' is no 'more'."""
    return (
        language == "fr"
        and words[i] == "plus"
        and any(w == "ne" or w.startswith("n'") for w in words[max(0, i - 3) : i])
    )


def negations(text: str, language: str) -> int:
    """Negation words and negated adjectives of possibility in ``text``, for comparing a
    claim with a sentence in another language."""
    words = _words(text)
    adjectives = sum(bool(_antonym(w, language, _CROSS_ADJECTIVES)) for w in words)
    # French 'ni ... ni' is one negation, however many 'ni'.
    either = language == "fr" and "ni" in words and not {"pas", "aucun", "aucune"} & set(words)
    return len(_negating(words, language)) + adjectives + either


_AUXILIARIES: dict[str, frozenset[str]] = {
    "nl": frozenset({"mogen", "mag", "moeten", "moet", "kunnen", "kan", "zullen", "zal", "zou",
                     "zouden", "willen", "wil", "worden", "wordt", "zijn", "is", "hebben",
                     "heeft"}),
    "en": frozenset({"may", "must", "can", "should", "shall", "will", "would", "could", "be",
                     "is", "are", "have", "has", "do", "does"}),
}  # fmt: skip
# French 'ne ... que' ('ne s'applique qu'à'): only.
_NE_QUE = re.compile(r"\b(?:ne\s+|n['’])[^\W\d_]+(?:\s+\w+)?\s+qu(?:e\b|['’])", re.IGNORECASE)


def _restricted(claim: str, support: str, language: str) -> str | None:
    """Why ``claim`` narrows ``support`` (same language), or None."""
    added = (set(_words(claim)) - set(_words(support))) & _RESTRICTIONS.get(language, frozenset())
    if added:
        return f"narrows the text with '{sorted(added)[0]}'"
    if language == "fr" and _NE_QUE.search(claim) and not _NE_QUE.search(support):
        return "narrows the text with 'ne ... que'"
    return None


@cache
def _analyzer(language: str) -> Analyzer:
    # Every word counts: 'significant' is an English stop word. Thread-safe: it locks.
    return Analyzer(language, stop_words=False)


@dataclass(frozen=True)
class Opposites:
    """Pairs of word sets of opposite direction per language, matched by Snowball stem.

    A claim says the opposite of its support when it has a word of one side that the
    support lacks, where the support has a word of the other side that the claim lacks.
    """

    # language -> [(one side's stems, the other side's stems, their words for the reason)]
    pairs: dict[str, tuple[tuple[frozenset[str], frozenset[str], str, str], ...]] = field(
        default_factory=dict
    )

    @classmethod
    def load(cls, path: Path | None) -> Opposites:
        """The list in ``path`` (see ``index/data/opposites.tsv``); none without a path.

        Raises:
            ValueError: a line that is not 'language<TAB>words<TAB>words', naming it.
        """
        if path is None:
            return cls()
        found: dict[str, list[tuple[frozenset[str], frozenset[str], str, str]]] = {}
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split("\t")
            sides = [[w.strip() for w in part.split(",") if w.strip()] for part in parts[1:]]
            if len(parts) != 3 or not all(sides) or any(" " in w for s in sides for w in s):
                raise ValueError(
                    f"{path}, line {number}: expected 'language<TAB>words<TAB>words' "
                    "(single words, comma-separated)"
                )
            analyze = _analyzer(parts[0].strip())
            one, other = (frozenset(t for w in side for t in analyze(w)) for side in sides)
            found.setdefault(parts[0].strip(), []).append(
                (one, other, "/".join(sides[0][:2]), "/".join(sides[1][:2]))
            )
        return cls({language: tuple(pairs) for language, pairs in found.items()})

    def reversed(self, claim: str, support: str, language: str) -> str | None:
        """Why ``claim`` says the opposite of ``support`` (both in ``language``), or None."""
        pairs = self.pairs.get(language)
        if not pairs:
            return None
        analyze = _analyzer(language)
        said, source = set(analyze(claim)), set(analyze(support))
        # The support's words of the other side that the claim does not use as they stand:
        # 'of secondary importance' keeps 'important' out of the claim, though both stem to
        # 'import'.
        claim_words = set(_words(claim))
        kept = {t for w in set(_words(support)) - claim_words for t in analyze(w)}
        for one, other, one_words, other_words in pairs:
            for ours, theirs, our_words, their_words in (
                (one, other, one_words, other_words),
                (other, one, other_words, one_words),
            ):
                if (ours & said) - source and theirs & kept:
                    return f"says '{our_words}' where the text says '{their_words}'"
        return None


@dataclass(frozen=True)
class PolarityCheck:
    """Finds a claim that says the opposite of its support sentence (see the module)."""

    document_language: str = "nl"
    reach: int = 3  # words after a negation that it may negate
    opposites: Opposites = field(default_factory=Opposites)

    def reversed(
        self, claim: str, language: str, support: str, support_language: str | None = None
    ) -> str | None:
        """Why ``claim`` reverses ``support``, or None when their polarity agrees.

        Args:
            support_language: the support's language when it is not the document's (a
                sentence of a language version). Its negations are counted in it: word
                order differs too much between versions for the word-for-word alignment,
                which is kept for claims in the document's own language.
        """
        if not support:
            return None
        if language == (support_language or self.document_language):
            opposite = self.opposites.reversed(claim, support, language) or _restricted(
                claim, support, language
            )
            if opposite:
                return opposite
        if language == self.document_language and support_language is None:
            return self._aligned(_words(claim), _words(support), language)
        if language == support_language and language in _LOCAL_NEGATION:
            aligned = self._aligned(_words(claim), _words(support), language)
            if aligned:
                return aligned
        in_support = negations(support, support_language or self.document_language)
        if in_support > 1:
            return None  # which of its negations the claim rests on cannot be told
        in_claim = negations(claim, language)
        # Not parity: two negations in an answer sentence are two statements negated
        # ('cannot be misread and have no knock-on effects'), not a double negative.
        if in_claim != in_support:
            return (
                f"reverses its support: {in_claim} negation(s) against {in_support} in the sentence"
            )
        return None

    def _aligned(self, said: list[str], source: list[str], language: str) -> str | None:
        for word in said:  # an antonym, word for word
            if word in source:
                continue
            base = _antonym(word, language)
            if base and base in source:
                return f"says '{word}' where the text says '{base}'"
            negated = next((o for o in source if _antonym(o, language) == word), "")
            if negated:
                return f"says '{word}' where the text says '{negated}'"
        # A negation word on one side only, in front of words both sides have.
        # A modal or auxiliary verb on one side only is word order ('mogen niet welbewust
        # toestaan' for 'niet welbewust mogen toestaan'), not a negation dropped.
        auxiliaries = _AUXILIARIES.get(language, frozenset())
        ours = self._negated(said, set(source), language) - auxiliaries
        theirs = self._negated(source, set(said), language) - auxiliaries
        if ours != theirs:
            words = sorted(ours ^ theirs)
            side = "adds" if ours - theirs else "drops"
            return f"{side} a negation of '{' '.join(words)}' that the text does not have"
        return None

    def _negated(self, words: list[str], other: set[str], language: str) -> set[str]:
        """The words negated in ``words`` that ``other`` also has."""
        found: set[str] = set()
        for i in _negating(words, language):
            after = words[i + 1 : i + 1 + self.reach]
            found |= {w for w in after if w in other and len(w) >= _MIN_BASE}
        return found
