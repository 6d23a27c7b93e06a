"""Who is who: "Kocam Murat" makes *Murat* and *kocam* (and *eşim*, *karım*) one person.

A question says the relation ("Eşimin doğum günü ne zaman?"), a memory may say the name
("Murat'ın doğum günü 18 Kasım"). When another memory ties the two ("Kocam Murat bankada
çalışıyor", "eşimin adı Elif", "Elif'le evliyim"), recall lets the name stand for the relation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from evotr.domain.facts.lexicon import RELATIONS, Relation
from evotr.domain.relevance.lexicon import TITLES

# Relations recall treats as one person-kind: a question's "sevgilim" is a memory's "kız arkadaşım".
_SAME = {"girlfriend": "partner", "boyfriend": "partner", "fiance": "partner", "brother": "sibling",
         "sister": "sibling", "best_friend": "friend", "grandfather": "grandparent",
         "grandmother": "grandparent"}


def _forms(relations: Iterable[Relation]) -> dict[str, str]:
    """First-person relation words and phrases (folded) → relation key, plurals included."""
    forms: dict[str, str] = {}
    for relation in relations:
        key = _SAME.get(relation.key, relation.key)
        for form in relation.turkish:
            forms[form] = key
            # "cocuklarim", "kardeslerim": the plural before the possessive.
            root = form[:-2] if form.endswith(("im", "um")) and " " not in form else ""
            if len(root) >= 4:
                # Folding merged ı/i and u/ü, so vowel harmony cannot pick: both endings.
                for stem in {root, root[:-1] + "k" if root.endswith("g") else root}:
                    forms.setdefault(stem + "lar", key)
                    forms.setdefault(stem + "ler", key)
    return forms


# RELATIONS names the people facts are stored about; recall also meets these in what users say.
_EXTRA = {"komsum": "neighbour", "kayinvalidem": "mother_in_law", "kayinpederim": "father_in_law",
          "kayinbiraderim": "brother_in_law", "baldizim": "sister_in_law", "gorumcem": "sister_in_law",
          "mentorum": "mentor", "hocam": "teacher", "doktorum": "doctor", "discim": "dentist",
          "yegenim": "nephew", "torunum": "grandchild", "ortagim": "partner", "meslektasim": "colleague",
          "damadim": "son_in_law", "gelinim": "daughter_in_law", "kaynanam": "mother_in_law",
          "kaynatam": "father_in_law", "eltim": "sister_in_law", "bacanagim": "brother_in_law",
          "torunlarim": "grandchild", "yegenlerim": "nephew", "enistem": "brother_in_law",
          "yengem": "sister_in_law",
          # Plural without "my" ("yeğenlerden hangisi", "torunlar için"): the family's, so the user's.
          "yegenler": "nephew", "torunlar": "grandchild",
          # Colloquial: "bizim hanım", "evladım"; "hanımla", "oğlana" with a case ending and no
          # apostrophe are the speaker's own (a title is written "Fadime Hanım'la"). Session 13, on
          # training sets 1, 5-24: Recall@5 0.934 -> 0.935, in the prompt 0.927 -> 0.929.
          "evladim": "child", "evlatlarim": "child", "bizim hanim": "spouse", "bizim bey": "spouse",
          "bizim oglan": "son", "bizim kiz": "daughter",
          **{f"hanim{e}": "spouse" for e in ("a", "la", "in", "i", "da", "dan")},
          **{f"oglan{e}": "son" for e in ("a", "la", "in", "i", "da", "dan")}}
FORMS: dict[str, str] = {**_forms(RELATIONS), **_EXTRA}
# English nouns after "my" ("my wife", "my wife's"), plural "s" too.
ENGLISH: dict[str, str] = {noun: _SAME.get(r.key, r.key) for r in RELATIONS for noun in r.english}
ENGLISH.update({f"{noun}s": key for noun, key in list(ENGLISH.items())})
_ENGLISH_LINK = ("name", "is", "called", "named")
_WORDS = sorted((f for f in FORMS if " " not in f), key=len, reverse=True)
_PHRASES = sorted((tuple(f.split()) for f in FORMS if " " in f), key=len, reverse=True)
_NAMED = ("adi", "ismi")
_MARRIED = ("evliyim", "evlendik", "evlendim", "evliyiz")
# What a relation makes a memory about: "Elif mimar" is about family once Elif is "eşim".
_KINDS = {"friend": "friend", "neighbour": "friend", "colleague": "work", "boss": "work",
          "mentor": "work", "dog": "pet", "cat": "pet", "bird": "pet", "pet": "pet",
          "doctor": "health", "dentist": "health", "teacher": "education"}


def canonical(relation: str) -> str:
    """The key recall uses for a relation key of the facts ("girlfriend" → partner)."""
    return _SAME.get(relation, relation)


def kind_of(relation: str) -> str:
    """The lexicon kind (features.CONCEPTS) a relation's people belong to; family by default."""
    return _KINDS.get(relation, "family")


_BY_START: dict[str, list[str]] = {}
for _form in _WORDS:
    _BY_START.setdefault(_form[:3], []).append(_form)  # longest first, as _WORDS is sorted
_HEADS = {p[0] for p in _PHRASES}


def relation_of(word: str) -> str | None:
    """The relation a folded word names in the first person ("esimin", "kocamla" → spouse), or None."""
    for form in _BY_START.get(word[:3], ()):
        if word.startswith(form):
            return FORMS[form]
    return None


def relations(words: Sequence[str]) -> frozenset[str]:
    """Every relation the folded words name: phrases first ("kiz arkadasim" → partner), then words."""
    found: set[str] = set()
    i = 0
    while i < len(words):
        phrase = None
        if words[i] in _HEADS:
            phrase = next((p for p in _PHRASES if tuple(words[i:i + len(p) - 1]) == p[:-1]
                           and i + len(p) <= len(words) and words[i + len(p) - 1].startswith(p[-1])),
                          None)
        if phrase is not None:
            found.add(FORMS[" ".join(phrase)])
            i += len(phrase)
            continue
        relation = relation_of(words[i])
        if relation is None and words[i] == "my" and i + 1 < len(words):
            relation = ENGLISH.get(words[i + 1])
        if relation is not None:
            found.add(relation)
        i += 1
    return frozenset(found)


def _name(typed: str, folded: str) -> bool:
    base = typed.split("'", 1)[0]
    return base[:1].isupper() and base.isalpha() and relation_of(folded) is None


def aliases(tokens: Sequence[tuple[str, str, str]]) -> tuple[tuple[str, str], ...]:
    """(relation, folded name) pairs stated: "Kocam Murat", "eşimin adı Elif", "Elif'le evliyim".

    ``tokens`` are :func:`evotr.domain.relevance.terms.tokens` of the text.
    """
    found: list[tuple[str, str]] = []
    n = len(tokens)
    for i, (_typed, word, _ending) in enumerate(tokens):
        relation = relation_of(word)
        if relation is None and word == "my" and i + 1 < n and tokens[i + 1][1] in ENGLISH:
            # "my wife Ayla", "my wife's name is Ayla", "my wife is called Ayla"
            relation, j = ENGLISH[tokens[i + 1][1]], i + 2
            while j < n and tokens[j][1] in _ENGLISH_LINK:
                j += 1
            if j < n and _name(tokens[j][0], tokens[j][1]):
                found.append((relation, tokens[j][1]))
        elif relation is not None:
            j = i + 1
            if j < n and tokens[j][1] in _NAMED:
                j += 1
            if j < n and tokens[j][1] in TITLES:  # "Dişçim Dr. Can"
                j += 1
            if j < n and _name(tokens[j][0], tokens[j][1]):
                found.append((relation, tokens[j][1]))
        elif i > 0 and _name(tokens[i - 1][0], tokens[i - 1][1]) and (
                word in _MARRIED or (word == "ile" and i + 1 < n and tokens[i + 1][1] in _MARRIED)):
            found.append(("spouse", tokens[i - 1][1]))
    return tuple(dict.fromkeys(found))
