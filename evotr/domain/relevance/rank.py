"""Hybrid ranking of recall candidates: embedding similarity plus what the words say.

    boost = lexical · (share of the question's terms the memory says: same root, a known alias, or
                       the relative a path names: "kızımın kocası" and "damadım"; kinship.py)
          + related · (share of the other question terms it names otherwise: thesaurus.py)
          + kinds   · (share of the question's kinds the memory is about)
          + answer  · (the memory holds the kind of answer asked for: a time, a place, a person)
          − subject · (the memory is about someone else than the question)
    score = cosine + (1 − cosine) · boost

The answer bonus counts only with some lexical or kind evidence: alone it would lift every dated
memory for every "when" question. The score stays below 1 unless the cosine is 1 (the weights
of the bonuses sum to less than 1), so a recall floor of 1.0 still means "only asked facts".

The default weights were first chosen on the development retrieval sets (dev, dev2), never on the
reported one, and re-chosen in session 10 on training-only sets 1 and 5-18 (see RankWeights).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import TypeVar

import attrs

from evotr.domain.errors import DomainValidationError
from evotr.domain.relevance.aliases import kind_of, relation_of
from evotr.domain.relevance.features import TextFeatures
from evotr.domain.relevance.kinship import composed, names_relation
from evotr.domain.relevance.spelling import agree
from evotr.domain.relevance.terms import same_root
from evotr.domain.relevance.thesaurus import offered, wanted

T = TypeVar("T")
USER = "user"


def _weight(_inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise DomainValidationError(attribute.name, f"must be a weight between 0 and 1, got {value!r}")


@attrs.frozen(slots=True)
class RankWeights:
    """How much each kind of evidence moves a memory's score (0 turns it off)."""

    # Session 10, with the query map on: chosen on 15 training-only sets (1,332 questions) that
    # neither the map nor these weights had seen (benchmarks/sweep_rank_weights.py). From
    # the hand-chosen 0.25/0.2/0.15/0.15, whole Recall@1/@5/in the prompt 0.652/0.869/0.850;
    # one at a time lexical 0.35, kinds 0.1 and subject 0.05 each gained (0.881/0.880/0.882 @5),
    # answer 0.05/0.25 did not; together with lexical 0.35/0.45/0.55: 0.896/0.896/0.899 @5,
    # 0.884/0.884/0.887 in the prompt. 0.45 is the middle of that plateau.
    # Session 12, with the thesaurus grown to 18 domains and kinship (kinship.py), on the same 15
    # sets: lexical 0.35/0.45/0.55/0.65/0.7/0.74 with related 0.4-0.6 gave whole Recall@5 from
    # 0.917 to a plateau of 0.929-0.932 at lexical 0.65-0.74, related 0.5-0.6; 0.65 with related
    # 0.5 is inside it (benchmarks/results/rank_weights_sweep_session12.json).
    # Session 20, with the query tower (the default since session 19, its cosines surer than the
    # map's) and the second opinion's reach of twenty: on training sets 25-30 and 51-58 (1,233
    # questions nobody trained on) 50 weightings around these; kinds 0.05 and answer 0.1 were in
    # all of the best fourteen (Recall@5 1,175-1,178 against 1,172 for 0.65/0.1/0.15), lexical
    # 0.45-0.7 and related 0.4-0.6 on a plateau; the best, 0.55/0.5/0.05/0.1, is these. Measured
    # once after on the 53 blind sets: Recall@5 4,367 -> 4,374 of 4,601, Recall@1 3,670 -> 3,700
    # (benchmarks/results/rank_weights_sweep_session20.json).
    lexical: float = attrs.field(default=0.55, validator=_weight)
    kinds: float = attrs.field(default=0.05, validator=_weight)
    answer: float = attrs.field(default=0.1, validator=_weight)
    subject: float = attrs.field(default=0.05, validator=_weight)
    # Session 11: the thesaurus (thesaurus.py), on the same 15 sets: related 0/0.2/0.4/0.6 gave
    # whole Recall@5 0.896/0.907/0.914/0.914, in the prompt 0.884/0.897/0.905/0.905
    # (benchmarks/results/related_weight_sweep.json); 0.4, the smaller of the tie. Session 12:
    # 0.5, chosen with lexical (above).
    related: float = attrs.field(default=0.5, validator=_weight)

    def __attrs_post_init__(self) -> None:
        if max(self.lexical, self.related) + self.kinds + self.answer >= 1.0:
            raise DomainValidationError("weights", "lexical (or related) + kinds + answer must stay below 1")


@attrs.frozen(slots=True)
class People:
    """Who the candidates say is who: relation → names and name → relation (folded)."""

    names: dict[str, frozenset[str]] = attrs.field(factory=dict)
    relations: dict[str, str] = attrs.field(factory=dict)

    @classmethod
    def of(cls, memories: Iterable[TextFeatures]) -> People:
        """Every (relation, name) pair the memories state; a name said for two relations is dropped.

        A pair may come through another person: "Kızımın kocası Serkan", or "Ezgi'nin oğlu Aras"
        once another memory says "Kız kardeşim Ezgi" (kinship.py)."""
        names: dict[str, set[str]] = {}
        relations: dict[str, str | None] = {}

        def add(relation: str, name: str) -> None:
            names.setdefault(relation, set()).add(name)
            relations[name] = relation if relations.get(name, relation) == relation else None

        stated = list(memories)
        for memory in stated:
            for relation, name in memory.aliases:
                add(relation, name)
        for memory in stated:
            for kin in memory.kin:
                named = composed(kin, relations) if kin.name else frozenset()
                if len(named) == 1:  # "kardeşimin eşi" could be either in-law: no name for both
                    add(next(iter(named)), kin.name)
        return cls({r: frozenset(n) for r, n in names.items()},
                   {n: r for n, r in relations.items() if r is not None})

    def kin_of(self, memory: TextFeatures) -> frozenset[str]:
        """The relations a memory names through another person ("Emre'nin ikiz oğulları" once
        Emre is a son: grandchild)."""
        if not memory.kin:
            return frozenset()
        return frozenset(c for kin in memory.kin for c in composed(kin, self.relations))

    def subjects(self, text: TextFeatures) -> frozenset[str]:
        """Whom a text is about: the relations it names (directly or by a known name), else the user."""
        found = set(text.relations) | {self.relations[t] for t in text.terms if t in self.relations}
        found |= self.kin_of(text)
        if text.about_other:
            found.add("other")
        return frozenset(found) if found else frozenset({USER})


@attrs.frozen(slots=True)
class _Term:
    """One question term with what it can also match: the names of the relation it says, or the
    relation of the name it is."""

    text: str
    mark: str | None  # how the question spelled it (spelling.py); None: typed without Turkish letters
    own: str | None  # the relation the term says in the first person ("eşimin": spouse)
    names: frozenset[str]
    relation: str | None
    # Relations the term stands for with its neighbour ("kızımın kocası": the son-in-law), and
    # their names among the candidates.
    kin: frozenset[str] = frozenset()
    kin_names: frozenset[str] = frozenset()


class _Question:
    """What every candidate is compared with, worked out once per question."""

    def __init__(self, question: TextFeatures, people: People) -> None:
        self.features = question
        self.people = people
        kin = _kin(question, people)
        owns = [relation_of(t) for t in question.terms]
        spelled = question.marks or (None,) * len(question.terms)
        self.terms = [_Term(t, mark, own, _names(people, own), people.relations.get(t),
                            kin.get(t, frozenset()),
                            frozenset(n for r in kin.get(t, ()) for n in people.names.get(r, ())))
                      for t, mark, own in zip(question.terms, spelled, owns, strict=True)]
        subjects = people.subjects(question) | frozenset(r for rs in kin.values() for r in rs)
        self.subjects = subjects.union(*(_WIDER.get(r, ()) for r in subjects))
        self.wanted = wanted(question.terms, question.marks)
        self.related = any(self.wanted)

    def boost(self, memory: TextFeatures, weights: RankWeights,
              offers: frozenset[str] | None = None) -> float:
        question, people = self.features, self.people
        boost = 0.0
        if self.terms and (weights.lexical or weights.related):
            kin = people.kin_of(memory)
            said = [_says(term, memory, kin) for term in self.terms]
            boost += weights.lexical * sum(said) / len(self.terms)
            if weights.related and self.related:
                offers = offered(memory.terms, memory.marks) if offers is None else offers
                named = sum(1 for s, want in zip(said, self.wanted, strict=True) if not s and want & offers)
                boost += weights.related * named / len(self.terms)
        if question.concepts and weights.kinds:
            extra = {kind_of(people.relations[t]) for t in memory.terms if t in people.relations}
            kinds = memory.concepts | extra if extra else memory.concepts
            boost += weights.kinds * len(question.concepts & kinds) / len(question.concepts)
        if boost > 0 and question.asks & memory.holds:
            boost += weights.answer
        if weights.subject and not self.subjects & people.subjects(memory):
            boost -= weights.subject
        return boost


# A question's "çocuğum", "evladım" asks about a son or a daughter too.
_WIDER = {"child": frozenset({"son", "daughter"})}


def _names(people: People, own: str | None) -> frozenset[str]:
    """The names of the relation a question term says (and of the narrower ones it covers)."""
    if own is None:
        return frozenset()
    found = people.names.get(own, frozenset())
    for narrower in _WIDER.get(own, ()):
        found |= people.names.get(narrower, frozenset())
    return found


def _kin(question: TextFeatures, people: People) -> dict[str, frozenset[str]]:
    """Question term → the relations its kin phrase composes to ("kızımın kocası", "Emine'nin
    kocası" once Emine is a daughter: son_in_law for both words)."""
    found: dict[str, set[str]] = {}
    for kin in question.kin:
        named = composed(kin, people.relations)
        if named:
            found.setdefault(kin.owner, set()).update(named)
            found.setdefault(kin.owned, set()).update(named)
    return {t: frozenset(r) for t, r in found.items()}


def _says(term: _Term, memory: TextFeatures, kin: frozenset[str] = frozenset()) -> bool:
    """Whether the memory says the term: the same root, or the person it names ("eşimin" and
    "Elif", whom another memory calls "eşim")."""
    for other, mark in _by_prefix(memory.terms, memory.marks).get(term.text[:2], ()):
        if same_root(term.text, other) and (term.mark is None or mark is None or agree(term.mark, mark)):
            return True
    if term.names and term.names.intersection(memory.terms):
        return True
    if term.kin and (term.kin & (memory.relations | kin) or term.kin_names.intersection(memory.terms)
                     or any(names_relation(t, term.kin) for t in memory.terms)):
        return True
    if kin and term.own in kin:  # "torunlarım" and "Emre'nin oğulları"
        return True
    if term.own in _WIDER and any(relation_of(t) in _WIDER[term.own] for t in memory.terms):
        return True  # "çocuğum" and "kızım"
    return term.relation is not None and any(relation_of(t) == term.relation for t in memory.terms)


@functools.lru_cache(maxsize=65_536)
def _by_prefix(terms: tuple[str, ...],
               spelled: tuple[str, ...] = ()) -> dict[str, tuple[tuple[str, str | None], ...]]:
    """A memory's terms, each with its mark (or None), by their first two letters (two words of
    one root share them): a question term is compared with a handful, not all of them. The same
    memories are ranked turn after turn; with 80 candidates the scan cost ~0.5 ms a turn."""
    grouped: dict[str, list[tuple[str, str | None]]] = {}
    for term, mark in zip(terms, spelled or (None,) * len(terms), strict=True):
        grouped.setdefault(term[:2], []).append((term, mark))
    return {prefix: tuple(group) for prefix, group in grouped.items()}


def relevance(question: TextFeatures, memory: TextFeatures, cosine: float,
              weights: RankWeights = RankWeights(), people: People = People()) -> float:
    """The hybrid score of one memory for one question (higher is more relevant)."""
    boost = _Question(question, people).boost(memory, weights)
    return cosine + (1.0 - cosine) * boost


def rank(question: TextFeatures, candidates: Sequence[tuple[T, float, TextFeatures]],
         weights: RankWeights = RankWeights(),
         links: Sequence[frozenset[str] | None] | None = None) -> list[tuple[T, float]]:
    """Candidates (item, cosine, features), best first by :func:`relevance`, with their scores.

    Who is who comes from the candidates themselves ("Kocam Murat" among them lets "eşimin"
    match Murat). Ties keep the candidates' order.
    """
    asked = _Question(question, People.of(f for _item, _cosine, f in candidates))
    stored = links if links is not None else [None] * len(candidates)
    scored = [(item, cosine + (1.0 - cosine) * asked.boost(f, weights, offers))
              for (item, cosine, f), offers in zip(candidates, stored, strict=True)]
    return sorted(scored, key=lambda pair: -pair[1])
