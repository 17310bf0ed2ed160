"""What a claim names, checked against what the document names: names and dates.

Embeddings give 'WannaCry and Bad Rabbit' or '16 March 2018' nearly the score of the text's
'WannaCry and NotPetya' and '16 april 2018'; these checks read the named things themselves.

- Names: a run of capitalised words (mid-sentence, in languages that capitalise only
  names) or an acronym, of which no word is a name the document knows. A list of names
  ('WannaCry and Bad Rabbit') is as many runs as it has names: one known name does not vouch
  for the others, while a name whose words are all the document's ('Common Foreign and
  Security Policy') stays one.
- Amounts: money ('1 billion euros', 'eine Milliarde Euro') where the cited paragraph, in
  the original and its versions, names none.
- Counts: a number written as a word ('three attacks', 'drei Angriffe'), 2 to 20, that the
  cited paragraph gives neither in digits nor in words in any of its texts (num2words
  knows 18 of the 24 languages; in the others counts are not read).
- Dates: a month named in a date ('16 March', 'März 2018') that the cited paragraph's date
  does not have, in the original or in any of its language versions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from assistant.text import KnownNames, builds_on, fold, months, words

__all__ = ["NamedFacts"]

_TOKEN = re.compile(r"[^\W\d_][\w'’-]*")
# Words inside a multi-word name ('Common Foreign and Security Policy', 'Raad van de EU').
_CONNECTORS = frozenset(("of", "and", "for", "the", "on", "de", "des", "du", "la", "le", "et",
    "van", "der", "den", "und", "für"))  # fmt: skip
_OPENING = re.compile(r"(^|[.!?:;]\s+|[\"“(]\s*)$")
# Money: a currency, or a magnitude word that mostly counts it (folded text).
_AMOUNT = re.compile(
    r"[€$£]|\b(?:euros?|eur|dollars?|usd|pounds?|ponden|sterling"
    r"|(?:milj|mili|mill)(?:oen|oenen|ion|ions|ionen|on|ones|oni|ard|arden|iard|iards|iarde|iarden|iardi)"
    r"|billions?|trillions?)\b"
)


class NamedFacts:
    """The names and dates of a document's paragraphs, to check a claim's against."""

    def __init__(
        self,
        names: KnownNames,
        texts: Iterable[tuple[int, str, str]],
    ) -> None:
        """Args:
        names: the names the document knows.
        texts: (paragraph, language, text) for the original and every language version.
        """
        self._names = names
        self._months: dict[int, set[int]] = {}
        self._amounts: dict[int, bool] = {}
        self._counts: dict[int, set[int]] = {}
        words_of: dict[int, set[str]] = {}
        for number, language, text in texts:
            words_of.setdefault(number, set()).update(words(text))
            self._counts.setdefault(number, set()).update(counts(text, language))
            self._months.setdefault(number, set()).update(months(text, language))
            self._amounts[number] = self._amounts.get(number, False) or _amount(text) != ""
        self._words = {number: frozenset(found) for number, found in words_of.items()}

    def unknown_names(self, claim: str, language: str) -> list[str]:
        """The names (runs of capitalised words) in ``claim`` of which no word is known."""
        return [
            " ".join(name)
            for name in self._names_in(claim, language)
            if not any(self._knows(token) for token in name)
        ]

    def absent_names(self, claim: str, language: str, number: int) -> list[str]:
        """The document's names in ``claim`` that paragraph ``number`` does not mention, in
        any of its texts or any listed form ('the UN condemns ... [§4]')."""
        texts = self._words.get(number, frozenset())
        absent = []
        for name in self._names_in(claim, language):
            known = [token for token in name if self._knows(token)]
            if known and not any(self._mentions(texts, token) for token in known):
                absent.append(" ".join(name))
        return absent

    def _mentions(self, texts: frozenset[str], token: str) -> bool:
        forms = {f for part in _parts(token) for f in self._names.forms(part)}
        # A short form only whole: Polish 'ONZ' (the UN) is no prefix of Dutch 'onze'.
        return any(builds_on(word, form, shortest=4) for word in texts for form in forms)

    def _names_in(self, claim: str, language: str) -> list[list[str]]:
        """The names in ``claim``: runs of capitalised words (mid-sentence, where only names
        are capitalised) or acronyms, a list of names ('X and Y') split into its names."""
        runs: list[list[list[str]]] = []  # runs of names, each a list of parts
        last_end: int | None = None  # end of the last word added to the open run
        connected = False  # a connector since that word: a new name may begin
        for match in _TOKEN.finditer(claim):
            token = match.group()
            capital = token[0].isupper() and len(token) > 1
            acronym = capital and token.replace("-", "").isupper()
            opening = bool(_OPENING.search(claim[: match.start()]))
            joined = last_end is not None and claim[last_end : match.start()].strip() in ("", "-")
            if acronym or (capital and language != "de" and not opening):
                if not joined:
                    runs.append([[]])
                elif runs[-1][-1] and connected:
                    runs[-1].append([])
                runs[-1][-1].append(token)
                connected = False
                last_end = match.end()
            elif joined and token.lower() in _CONNECTORS:
                connected = True
                last_end = match.end()
            else:
                last_end = None
        return [part for run in runs for part in run]

    def _knows(self, token: str) -> bool:
        return any(self._names.knows(p) for p in _parts(token))

    def unfounded_amount(self, claim: str, number: int) -> str | None:
        """Why the amount of money in ``claim`` cannot rest on paragraph ``number``, or None."""
        amount = _amount(claim)
        if amount and not self._amounts.get(number, False):
            return f"states an amount ('{amount}'), where §{number} names none"
        return None

    def miscounted(self, claim: str, language: str, number: int) -> str | None:
        """Why a count in ``claim`` written as a word is not paragraph ``number``'s, or None."""
        # Only words: a claim's digits are the number check's ('2018'), or a reference.
        wrong = counts(claim, language, digits=False) - self._counts.get(number, set())
        if wrong:
            return f"counts {', '.join(map(str, sorted(wrong)))}, which §{number} does not give"
        return None

    def misdated(self, claim: str, language: str, number: int) -> str | None:
        """Why the date in ``claim`` is not paragraph ``number``'s, or None."""
        wrong = months(claim, language) - self._months.get(number, set())
        if wrong:
            listed = ", ".join(str(m) for m in sorted(wrong))
            return f"dates it in month {listed}, which §{number} does not give"
        return None


def _amount(text: str) -> str:
    match = _AMOUNT.search(fold(text))
    return match.group() if match else ""


_SMALL = range(2, 21)  # 'one' is an article in too many languages ('een', 'un', 'ein')


@lru_cache(maxsize=32)
def _count_words(language: str) -> dict[str, int]:
    from num2words import num2words

    found: dict[str, int] = {}
    for value in _SMALL:
        try:
            found[fold(num2words(value, lang=language))] = value
        except (NotImplementedError, KeyError, ValueError):
            return {}
    return found


def counts(text: str, language: str, *, digits: bool = True) -> set[int]:
    """The numbers 2-20 in ``text``: as words of ``language``, and in digits."""
    named = _count_words(language)
    found = {named[w] for w in words(text) if w in named}
    if digits:
        found |= {int(n) for n in re.findall(r"\b\d{1,2}\b", text) if int(n) in _SMALL}
    return found


def _parts(token: str) -> list[str]:
    """The capitalised parts of a token ('VN-Handvest' -> VN, Handvest; "EU's" -> EU)."""
    return [p for p in re.split(r"['’-]", token) if p and p[0].isupper()]
