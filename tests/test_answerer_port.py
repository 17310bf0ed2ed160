"""The ``Answerer`` port: one contract, run against every implementation.

The offline answerer runs as it is; the generative one talks real HTTP to the scripted
OpenAI-compatible server (the one thing that cannot run here), over the real retrieval.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from assistant import Assistant, Turn
from assistant.answering import Answerer
from assistant.llm import ChatClient, CitationVerifier, GenerativeAnswerer
from assistant.retrieval import Ranking, SearchQuery
from assistant.settings import LLMSettings
from assistant.text import KnownNames
from prompts import load_messages
from tests.llm_fake import FakeLLM, Reply, running

pytestmark = [pytest.mark.slow, pytest.mark.server]

QUESTION = "Wat veroordeelt de EU met klem?"
OFF_TOPIC = "Hoe maak ik een goede appeltaart met kaneel?"
REPLY = (
    "De EU veroordeelt met klem het kwaadwillige gebruik van ICT's, onder meer in WannaCry "
    "en NotPetya [§4]."
)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeLLM]:
    with running() as server:
        yield server


def _generative(built: Assistant, fake: FakeLLM) -> GenerativeAnswerer:
    settings = LLMSettings(base_url=fake.base_url, model="fake-model", max_retries=0)
    verifier = CitationVerifier(
        built.document,
        built.embedder,
        threshold=settings.support_threshold,
        margin=settings.support_margin,
        lexical_weight=settings.support_lexical_weight,
        joint_tolerance=settings.support_joint_tolerance,
        known_names=KnownNames.of(built.document, built.service.settings.names_path),
    )
    client = ChatClient(settings, http_client=httpx.Client(trust_env=False))
    return GenerativeAnswerer(settings, built.document, built.offline, verifier,
                              load_messages(), client)  # fmt: skip


MAKERS: dict[str, Callable[[Assistant, FakeLLM], Answerer]] = {
    "offline": lambda built, fake: built.offline,
    "generative": _generative,
}


@pytest.fixture(params=sorted(MAKERS))
def answerer(request: pytest.FixtureRequest, built: Assistant, fake: FakeLLM) -> Iterator[Answerer]:
    made = MAKERS[request.param](built, fake)
    yield made
    if made is not built.offline:  # the shared offline answerer stays open for other tests
        made.close()


def _rank(built: Assistant, question: str) -> Ranking:
    return built.retriever.rank(SearchQuery(question=question))


class TestAnswererContract:
    def test_an_answer_cites_what_it_quotes(
        self, answerer: Answerer, built: Assistant, fake: FakeLLM
    ) -> None:
        fake.script(Reply(REPLY))
        composed = answerer.answer(QUESTION, "nl", _rank(built, QUESTION))
        assert not composed.abstained
        assert [c.paragraph for c in composed.citations] == [4]
        assert "[§4]" in composed.answer

    def test_the_stream_joins_to_its_result(
        self, answerer: Answerer, built: Assistant, fake: FakeLLM
    ) -> None:
        fake.script(Reply(REPLY))
        stream = answerer.stream(QUESTION, "nl", _rank(built, QUESTION))
        pieces = list(stream)
        assert pieces
        assert "".join(pieces) == stream.result.answer
        assert [c.paragraph for c in stream.result.citations] == [4]

    def test_an_off_topic_question_is_refused(
        self, answerer: Answerer, built: Assistant, fake: FakeLLM
    ) -> None:
        before = len(fake.requests)
        composed = answerer.answer(OFF_TOPIC, "nl", _rank(built, OFF_TOPIC))
        assert composed.abstained
        assert composed.citations == []
        assert composed.reason
        # The refusal says so in the question's language: not in the text, or not a
        # question about it (a request for a recipe is nearer the instructions).
        texts = load_messages().for_language("nl")
        assert composed.answer.startswith((texts.abstain, texts.instruction))
        assert len(fake.requests) == before  # no model is asked what the policy refuses

    def test_a_rewrite_is_a_query_or_none(
        self, answerer: Answerer, built: Assistant, fake: FakeLLM
    ) -> None:
        fake.script(Reply("Welke schade veroorzaakten WannaCry en NotPetya?"))
        history = [
            Turn(role="user", content="Welke aanvallen noemt de EU?"),
            Turn(role="assistant", content="WannaCry en NotPetya [§4]"),
        ]
        rewritten = answerer.rewrite("En de gevolgen?", history)
        assert rewritten is None or "WannaCry" in rewritten
