"""Relations said through another person: "kızımın kocası" is the son-in-law, "Katrin'in annesi"
the mother-in-law once Katrin is the wife.

A question often names a relative by the path to them ("Kızımın kocası nerede çalışıyor?",
"Oğlumun eşi hangi hastanede?", "Emine'nin kocası ne iş yapıyor?") while the memory says the
relation itself ("Damadım Serkan Halkbank'ta memur") or only the name another memory gives them.
A text's :class:`KinPhrase` records who owns whom as said; rank.py composes the two relations
(:func:`compose`), resolving an owner's name through the candidates' aliases ("Kızım Emine").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from evotr.domain.relevance.aliases import relation_of

_GENITIVE = ("in", "un", "nin", "nun")
_PLACE = ("da", "de", "ta", "te")  # "-da", "-dan", "-daki": where, not who
# Third-person possessives that name a relative of someone (folded word starts → relations).
_OWNED: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("kocasi", ("spouse",)), ("karisi", ("spouse",)), ("hanimi", ("spouse",)), ("esi", ("spouse",)),
    ("oglu", ("son",)), ("ogul", ("son",)), ("kizi", ("daughter",)), ("kizla", ("daughter",)),
    ("cocugu", ("child",)), ("cocuklari", ("child",)), ("evlatlari", ("child",)), ("annesi", ("mother",)),
    ("babasi", ("father",)), ("ailesi", ("mother", "father")), ("kardesi", ("sibling",)),
    ("kardesleri", ("sibling",)), ("abisi", ("sibling",)), ("agabeyi", ("sibling",)),
    ("ablasi", ("sibling",)), ("torun", ("grandchild",)),
)
# Short starts that begin other words too: only these forms ("esinin", not "esir"; "kizina", not
# "kizil").
_SHORT_FORMS = {"esi": ("esi", "esini", "esinin", "esine", "esiyle", "esinde", "esinden"),
                "kizi": ("kizi", "kizini", "kizinin", "kizina", "kiziyla", "kizinda", "kizindan")}
_CHILD = ("son", "daughter", "child")
_PARENT = ("mother", "father")
_IN_LAW_CHILD = {"daughter": ("son_in_law",), "son": ("daughter_in_law",),
                 "child": ("son_in_law", "daughter_in_law")}
_IN_LAW_PARENT = {"mother": ("mother_in_law",), "father": ("father_in_law",)}


@attrs.frozen(slots=True)
class KinPhrase:
    """"Kızımın kocası Serkan": the owner as said (a folded word: a relation word or a name), the
    owner's relation when the word says it, the owned word and the relations it names, and the
    name that follows, if any."""

    owner: str
    owner_relation: str
    owned: str
    relations: tuple[str, ...]
    name: str = ""


def compose(owner: str, owned: str) -> tuple[str, ...]:
    """The relations of "my ``owner``'s ``owned``" (relation keys), or () when there is no word
    for it the memories would use ("kızımın öğretmeni")."""
    if owned == "spouse":
        if owner == "sibling":  # "ablamın eşi": the enişte; "abimin karısı": the yenge
            return ("brother_in_law", "sister_in_law")
        return _IN_LAW_CHILD.get(owner, ())
    if owner == "spouse" and owned in _PARENT:
        return _IN_LAW_PARENT[owned]
    if owner == "spouse" and owned == "sibling":
        return ("brother_in_law", "sister_in_law")
    if owner == "sibling" and owned in _CHILD:
        return ("nephew",)
    if owner in _CHILD and owned in _PARENT:
        return ("spouse",)  # "Deniz'in annesi", Deniz my son: my wife, or my ex-wife
    if owner in _CHILD and owned in (*_CHILD, "grandchild"):
        return ("grandchild",)
    if owner in _PARENT and owned in _PARENT:
        return ("grandparent",)
    if owner in _PARENT and owned == "sibling":
        return ("uncle", "aunt")
    if owner in ("uncle", "aunt") and owned in _CHILD:
        return ("cousin",)
    return ()


def composed(kin: KinPhrase, relations: Mapping[str, str | None]) -> frozenset[str]:
    """The relations a kin phrase names: its owner's relation (said, or the relation ``relations``
    gives the owner's name) composed with each relative it names."""
    owner = kin.owner_relation or relations.get(kin.owner) or ""
    return frozenset(c for r in kin.relations for c in compose(owner, r))


# The plain nouns of the composed relations, as a memory may say them without "my" ("torunlar
# için", "damat tarafı"): a term starting with one names that relation.
NOUNS: dict[str, tuple[str, ...]] = {
    "son_in_law": ("damat", "damad"), "daughter_in_law": ("gelin",),
    "mother_in_law": ("kayinvalide", "kaynana"), "father_in_law": ("kayinpeder", "kaynata"),
    "brother_in_law": ("kayinbirader", "bacanak", "bacanag", "eniste"),
    "sister_in_law": ("baldiz", "gorumce", "elti", "yenge"), "nephew": ("yegen",), "grandchild": ("torun",),
    "grandparent": ("anneanne", "babaanne", "dede", "nine"), "uncle": ("amca", "dayi"),
    "aunt": ("hala", "teyze"), "cousin": ("kuzen",),
}


def names_relation(term: str, relations: frozenset[str]) -> bool:
    """Whether a folded memory term is the plain noun of one of ``relations``."""
    return any(term.startswith(noun) for r in relations for noun in NOUNS.get(r, ()))


def owned_relations(word: str) -> tuple[str, ...]:
    """The relations a folded third-person possessive names ("kocasi", "ogullari"), or ()."""
    for start, relations in _OWNED:
        forms = _SHORT_FORMS.get(start)
        if (word in forms) if forms else word.startswith(start):
            return relations
    return ()


def _name_at(tokens: Sequence[tuple[str, str, str]], at: int) -> str:
    """The folded name at ``at`` ("Serkan", "adı Can"), or "" (none, or a place: "Köln'de")."""
    if at < len(tokens) and tokens[at][1] in ("adi", "ismi"):
        at += 1
    if at >= len(tokens):
        return ""
    typed, word, ending = tokens[at]
    if not _is_name(typed) or relation_of(word) is not None or ending.startswith(_PLACE):
        return ""
    return word


def _is_name(typed: str) -> bool:
    base = typed.split("'", 1)[0]
    return base[:1].isupper() and base.isalpha()


def phrases(tokens: Sequence[tuple[str, str, str]]) -> tuple[KinPhrase, ...]:
    """The kin phrases of a text's :func:`terms.tokens`: a relation word or a name in the genitive
    followed by a possessive relative ("annesiyle babası" gives both)."""
    found: list[KinPhrase] = []
    for i in range(len(tokens) - 1):
        typed, word, ending = tokens[i]
        owner_relation = relation_of(word)
        if owner_relation is not None:
            if not word.endswith(_GENITIVE):
                continue
        elif not (_is_name(typed) and ending in _GENITIVE):
            continue
        j = i + 1
        if j + 1 < len(tokens) and not owned_relations(tokens[j][1]) and owned_relations(tokens[j + 1][1]):
            j += 1  # one word between: "Emre'nin ikiz oğulları", "kızımın büyük oğlu"
        while j < len(tokens):
            relations = owned_relations(tokens[j][1])
            if not relations:
                break
            after = tokens[j + 1] if j + 1 < len(tokens) else None
            name = _name_at(tokens, j + 1)
            found.append(KinPhrase(word, owner_relation or "", tokens[j][1], relations, name))
            # "annesiyle babası", "annesi ve babası": one owner, two relatives.
            if tokens[j][1].endswith(("yle", "yla")):
                j += 1
            elif after is not None and after[1] in ("ve", "ile"):
                j += 2
            else:
                break
    return tuple(found)
