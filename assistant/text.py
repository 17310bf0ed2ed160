"""Text analysis shared by BM25 and abstention: folding, stop words, Dutch stemming."""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Collection, Iterable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from index.document import Document

__all__ = [
    "Analyzer",
    "content_terms",
    "EU_LANGUAGES",
    "detect_language",
    "fold",
    "has_surrogate",
    "KnownNames",
    "builds_on",
    "months",
    "names",
    "numbers",
    "words",
]

_WORD = re.compile(r"\w+", re.UNICODE)
# JSON may escape lone surrogates ("\\ud800"), and undecodable terminal bytes arrive as
# them; UTF-8 cannot encode them, so no library downstream can handle them.
_SURROGATE = re.compile("[\ud800-\udfff]")
_NUMBER = re.compile(r"\b\d{2,}\b")
# Languages whose capitalised words mid-sentence are names: the forms the document's names
# take in them are listed (index/data/names.tsv). Elsewhere (German capitalises nouns,
# Italian 'Consiglio', Polish 'Rady') a capital says too little, and only acronyms count.
_NAME_LANGUAGES = frozenset({"nl", "en", "fr"})


def has_surrogate(text: str) -> bool:
    """Whether ``text`` holds a lone surrogate: not Unicode text, and not encodable."""
    return _SURROGATE.search(text) is not None


def fold(text: str) -> str:
    """Lower-case and strip accents: 'geïnterpreteerd' -> 'geinterpreteerd'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=8)
def _stopwords(language: str) -> frozenset[str]:
    import stopwordsiso

    words = stopwordsiso.stopwords(language) if stopwordsiso.has_lang(language) else set()
    return frozenset(fold(w) for w in words)


class Analyzer:
    """Lower-case, fold accents, drop stop words and stem with Snowball."""

    def __init__(self, language: str = "nl", *, stop_words: bool = True) -> None:
        """Args:
        stop_words: drop the language's stop words (stopwords-iso's lists are long:
            English 'significant' and 'important' are in them).
        """
        import snowballstemmer

        names = {"nl": "dutch", "en": "english", "de": "german", "fr": "french"}
        self.language = language
        self._stemmer = snowballstemmer.stemmer(names.get(language, "dutch"))
        # A Snowball stemmer keeps the word it works on in itself, and analyzers are
        # shared (cached per language) by concurrent requests.
        self._lock = threading.Lock()
        self._stop = _stopwords(language) if stop_words else frozenset()

    def __call__(self, text: str) -> list[str]:
        tokens = [t for t in _WORD.findall(fold(text)) if t not in self._stop]
        with self._lock:
            return list(self._stemmer.stemWords(tokens))


_PREFIX = 5  # letters a word shares with the others of its family ('condemns', 'condemned')


def prefixes(found: Iterable[str]) -> frozenset[str]:
    """The first letters of the words of ``found`` long enough to have a family."""
    return frozenset(w[:_PREFIX] for w in found if len(w) >= _PREFIX)


def uses(term: str, found: Collection[str], starts: Collection[str]) -> bool:
    """Whether ``term`` is one of the words ``found`` or shares the first letters of one of
    them (``starts``: their ``prefixes``)."""
    return term in found or (len(term) >= _PREFIX and term[:_PREFIX] in starts)


def content_terms(text: str, language: str) -> list[str]:
    """The folded words of ``text`` that are not stop words of ``language``."""
    stop = _stopwords(language) | _stopwords("nl")
    return [t for t in _WORD.findall(fold(text)) if t not in stop and not t.isdigit()]


_NAME_TOKEN = re.compile(r"[^\W\d_][\w']*", re.UNICODE)
_IDENTIFIER = re.compile(r"(?<![\w])(?=[^\W_]*\d)(?=[^\W_]*[^\W\d_])[^\W_]+")
_SENTENCE_START = re.compile(r"(^|[.!?:;]\s+|[\"“„«(¿¡]\s*)$")


def words(text: str) -> set[str]:
    """Every folded word of ``text`` (apostrophe parts split off)."""
    return {w for w in _WORD.findall(fold(text))}


def names(text: str, language: str) -> list[str]:
    """Names a question mentions: acronyms, identifiers ('5G'), and capitalised words not
    opening a sentence.

    Capitalised words count only in the languages whose name forms are reviewed (nl, en,
    fr): in the others an ordinary word may be capitalised, so there only acronyms count.
    """
    # Identifiers of letters and digits ('5G', 'G7', 'NIS2') are names in every language;
    # an ordinal ('16th', '2e') has no capital.
    found = [t for t in _IDENTIFIER.findall(text) if any(c.isupper() for c in t)]
    for match in _NAME_TOKEN.finditer(text):
        token = match.group().split("'")[-1] if "'" in match.group() else match.group()
        if not token or not token[0].isupper():
            continue
        acronym = len(token) >= 2 and token.isupper()
        opening = bool(_SENTENCE_START.search(text[: match.start()]))
        if acronym or (language in _NAME_LANGUAGES and not opening):
            found.append(token)
    return list(dict.fromkeys(found))


class KnownNames:
    """The folded names a document knows: its own words plus a reviewed list of forms.

    A word counts as known when it is one of them, or builds on one of three letters or
    more (compounds and plurals: 'Raadsformatie', 'ICTs').
    """

    def __init__(
        self,
        names: frozenset[str],
        groups: tuple[frozenset[str], ...] = (),
        cognate: int | None = None,
    ) -> None:
        self.names = names
        self.groups = groups  # the forms of each listed name, one set a line of the list
        # Without a reviewed list of forms in other languages, a name sharing its first
        # ``cognate`` letters with a word of the document counts as known ('Commission'
        # for 'Commissie').
        self._stems = (
            frozenset(n[:cognate] for n in names if len(n) >= cognate) if cognate else None
        )
        self._cognate = cognate or 0

    @classmethod
    def of(
        cls, document: Document, path: Path | None = None, cognate: int | None = None
    ) -> KnownNames:
        """The names of ``document``, with the forms listed in ``path`` (TSV) when given."""
        known = words(" ".join(p.text for p in document.paragraphs))
        groups: list[frozenset[str]] = []
        if path is not None and path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip() and not line.lstrip().startswith("#"):
                    groups.append(frozenset(fold(f) for f in line.split("\t") if f.strip()))
                    known |= groups[-1]
        return cls(frozenset(known), tuple(groups), cognate)

    def knows(self, name: str) -> bool:
        """Whether ``name`` is (or builds on) a name the document knows."""
        folded = fold(name)
        if self._stems is not None and folded[: self._cognate] in self._stems:
            return True
        return folded in self.names or any(builds_on(folded, known) for known in self.names)

    def forms(self, name: str) -> frozenset[str]:
        """The forms of the listed name ``name`` is (or builds on); itself when unlisted."""
        folded = fold(name)
        found = frozenset().union(
            *(group for group in self.groups if any(builds_on(folded, f) for f in group))
        )
        return found or frozenset({folded})


def builds_on(word: str, form: str, shortest: int = 3) -> bool:
    """Whether folded ``word`` is ``form`` or builds on it (a compound, a plural: 'icts'
    on 'ict'); a form shorter than ``shortest`` counts only whole."""
    return word == form or (len(form) >= shortest and word.startswith(form))


def numbers(text: str) -> set[str]:
    """Numbers of two or more digits (years, amounts) mentioned in ``text``."""
    return set(_NUMBER.findall(text))


# A month is read only next to a number ('16 april', 'April 2018', '16. März'): alone,
# English 'May' is a verb and French 'mars' a planet.
_DATE_TOKEN = re.compile(r"\d+\.?|[^\W\d_]+")


@lru_cache(maxsize=32)
def _month_names(language: str) -> dict[str, int]:
    """Folded month names of ``language`` (CLDR through Babel, wide and abbreviated, as
    written in a date and standing alone), each with its month's number."""
    from babel import Locale, UnknownLocaleError
    from babel.dates import get_month_names

    try:
        locale = Locale.parse(language)
    except (UnknownLocaleError, ValueError):
        return {}
    found: dict[str, int] = {}
    for width in ("wide", "abbreviated"):
        for context in ("format", "stand-alone"):
            for month, name in get_month_names(width, context, locale=locale).items():
                folded = fold(name).rstrip(".")
                if len(folded) >= 3:
                    found[folded] = month
    return found


def months(text: str, language: str) -> set[int]:
    """The months ``text`` (in ``language``) names in a date."""
    names = _month_names(language)
    tokens = _DATE_TOKEN.findall(text)
    found: set[int] = set()
    for i, token in enumerate(tokens):
        month = names.get(fold(token))
        if month is None:
            continue
        near = tokens[max(i - 1, 0) : i] + tokens[i + 1 : i + 2]
        if any(t[0].isdigit() for t in near):
            found.add(month)
    return found


# The 24 official EU languages, the only ones a question is told apart into.
EU_LANGUAGES = (
    "bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "ga", "hr",
    "hu", "it", "lt", "lv", "mt", "nl", "pl", "pt", "ro", "sk", "sl", "sv",
)  # fmt: skip


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    # py3langid (langid.py's naive Bayes over byte n-grams): about 40 MiB and 0.2 ms a
    # question. lingua's high-accuracy models, used before, told the dev questions apart
    # as well (212 of 212 each) but held about 650 MiB in every replica.
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE)
    identifier.set_languages(EU_LANGUAGES)
    return identifier


# The languages the document is read in (its original and versions) get a small head
# start, in log-likelihood: for the shipped document (nl, en, fr, de) 0.5 decides a near tie
# such as "Que condamne l'UE ?" (French by 0.14 behind Italian without it) and changed no
# other of 1,176 labelled texts (the dev questions, exemplars, enrichment questions, claims).
HEAD_START = 0.5


def detect_language(text: str, default: str = "nl", likely: Collection[str] = ()) -> str:
    """ISO 639-1 code of the text's language, one of the EU's 24; ``default`` when unsure.

    Args:
        likely: the languages the document is read in, each given ``HEAD_START``.
    """
    if not any(char.isalpha() for char in text):
        return default
    ranked = _identifier().rank(text)
    return str(max(ranked, key=lambda pair: pair[1] + HEAD_START * (pair[0] in likely))[0])
