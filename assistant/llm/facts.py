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
- Other bodies: a name from a reviewed list of bodies the document does not mention that
  an answer may put in place of its own ('the European Council' for the Council of the EU),
  ``index/data/confusables.tsv``.
- Novel terms: content words that no text of the document uses (nor any word sharing their
  first five letters), in a claim in the original's language or a version's. A paraphrase
  brings one or two ('juge', 'laut'); an invented claim brings the things it invents
  ('agence', 'création', 'treaty', 'Reiseverbote').
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from assistant.text import KnownNames, builds_on, content_terms, fold, months, prefixes, uses, words

__all__ = ["Confusables", "NamedFacts"]

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


@dataclass(frozen=True)
class Confusables:
    """Bodies the document does not mention that an answer may name in place of its own."""

    forms: tuple[tuple[str, re.Pattern[str]], ...] = ()

    @classmethod
    def load(cls, path: Path | None) -> Confusables:
        """The list in ``path`` (see ``index/data/confusables.tsv``); none without a path.

        Raises:
            ValueError: the file cannot be read, naming it.
        """
        if path is None:
            return cls()
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise ValueError(f"{path}: {error}") from error
        forms = [
            (form.replace("*", ""), _form_pattern(form))
            for line in lines
            if line.strip() and not line.lstrip().startswith("#")
            for form in filter(None, (f.strip() for f in line.split("\t")))
        ]
        return cls(tuple(forms))

    def without(self, texts: Iterable[str]) -> Confusables:
        """The list without the forms ``texts`` (the document's own) use."""
        document = " ".join(fold(t) for t in texts)
        return Confusables(tuple(f for f in self.forms if not f[1].search(document)))

    def named(self, claim: str) -> list[str]:
        """The listed bodies ``claim`` names."""
        folded = fold(claim).replace("’", "'")
        return [form for form, pattern in self.forms if pattern.search(folded)]


def _form_pattern(form: str) -> re.Pattern[str]:
    parts = [
        re.escape(fold(w.rstrip("*"))) + (r"\w*" if w.endswith("*") else "") for w in form.split()
    ]
    return re.compile(r"(?<!\w)" + r"\s+".join(parts) + r"(?!\w)")


class NamedFacts:
    """The names and dates of a document's paragraphs, to check a claim's against."""

    def __init__(
        self,
        names: KnownNames,
        texts: Iterable[tuple[int, str, str]],
        others: Confusables | None = None,
    ) -> None:
        """Args:
        names: the names the document knows.
        texts: (paragraph, language, text) for the original and every language version.
        others: bodies the document does not mention, which a claim may not name.
        """
        self._names = names
        texts = list(texts)
        self.others = (others or Confusables()).without(text for _, _, text in texts)
        self._months: dict[int, set[int]] = {}
        self._amounts: dict[int, bool] = {}
        self._counts: dict[int, set[int]] = {}
        words_of: dict[int, set[str]] = {}
        languages: set[str] = set()
        for number, language, text in texts:
            languages.add(language)
            words_of.setdefault(number, set()).update(words(text))
            self._counts.setdefault(number, set()).update(counts(text, language))
            self._months.setdefault(number, set()).update(months(text, language))
            self._amounts[number] = self._amounts.get(number, False) or _amount(text) != ""
        self._words = {number: frozenset(found) for number, found in words_of.items()}
        self._languages = frozenset(languages)
        self._vocabulary = frozenset().union(*self._words.values())
        self._prefixes = prefixes(self._vocabulary)

    def novel_terms(self, claim: str, language: str) -> list[str]:
        """The content words of ``claim`` that no text of the document uses (nor a word with
        their first five letters); none for a language the document has no text in."""
        if language not in self._languages:
            return []
        terms = content_terms(claim, language)
        return [t for t in terms if not uses(t, self._vocabulary, self._prefixes)]

    def invented(self, claim: str, language: str, at_least: int) -> str | None:
        """Why ``claim`` speaks of things the document never mentions (``at_least`` novel
        terms; 0: never), or None."""
        novel = self.novel_terms(claim, language)
        if at_least and len(novel) >= at_least:
            return f"speaks of {', '.join(novel)}, which the document never mentions"
        return None

    def unknown_names(self, claim: str, language: str) -> list[str]:
        """The names (runs of capitalised words) in ``claim`` of which no word is known, and
        the listed bodies it names that the document does not mention."""
        unknown = [
            " ".join(name)
            for name in self._names_in(claim, language)
            if not any(self._knows(token) for token in name)
        ]
        return unknown + [f for f in self.others.named(claim) if f not in unknown]

    def absent_names(self, claim: str, language: str, number: int) -> list[str]:
        """The document's names in ``claim`` that paragraph ``number`` does not mention, in
        any of its texts or any listed form ('the UN condemns ... [§4]')."""
        # The cover note (paragraph 0) names who speaks in every paragraph: 'the Council is
        # concerned ... [§3]' where §3 says 'the EU'.
        texts = self._words.get(number, frozenset()) | self._words.get(0, frozenset())
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
            camel = _is_camel(token)
            opening = bool(_OPENING.search(claim[: match.start()]))
            joined = last_end is not None and claim[last_end : match.start()].strip() in ("", "-")
            # German capitalises every noun, so there a capital makes a name only in camel
            # case ('WannaCry') or in a list that one begins ('WannaCry und Industroyer').
            listed = joined and connected and bool(runs) and _camel(runs[-1][-1])
            if acronym or camel or (capital and (language != "de" or listed) and not opening):
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


def _is_camel(token: str) -> bool:
    """A capital inside a word that is no acronym ('WannaCry', not 'UNGGE')."""
    return token[:1].isupper() and any(c.isupper() for c in token[1:]) and not token.isupper()


def _camel(name: list[str]) -> bool:
    return any(_is_camel(t) for t in name)


def _parts(token: str) -> list[str]:
    """The capitalised parts of a token ('VN-Handvest' -> VN, Handvest; "EU's" -> EU)."""
    return [p for p in re.split(r"['’-]", token) if p and p[0].isupper()]
