"""Rules for facts said in Turkish (typed with or without Turkish letters)."""

from __future__ import annotations

import re
from collections.abc import Callable

from evotr.domain.facts.common import (
    ABLATIVE,
    ACCUSATIVE,
    COPULA,
    DATIVE,
    LOCATIVE,
    date_text,
    fact,
    is_date_start,
    joined,
    name_text,
    profession_stem,
    proper_run,
    proper_run_left,
    relation_at,
    usable,
)
from evotr.domain.facts.lexicon import DIETS, FILLERS, GREETINGS, NEGATIONS, NOT_A_NAME, PLACES, TOPICS
from evotr.domain.facts.model import Fact, Slot
from evotr.domain.facts.tokens import Clause, Token, phrase_value, strip_ending

_RESIDE = {"yasiyorum", "yasarim", "oturuyorum", "otururum", "yasamaktayim", "yasiyoruz", "oturuyoruz"}
_MOVED = {"tasindim", "yerlestim", "tasindik", "yerlestik"}
_WORK = {"calisiyorum", "calisirim", "calismaktayim"}
_LIKE = {"severim": ACCUSATIVE, "seviyorum": ACCUSATIVE, "seviyom": ACCUSATIVE, "bayilirim": DATIVE,
         "bayiliyorum": DATIVE, "hoslanirim": ABLATIVE, "hoslaniyorum": ABLATIVE, "tapiyorum": DATIVE}
_DISLIKE = {"sevmem": ACCUSATIVE, "sevmiyorum": ACCUSATIVE, "sevmiyom": ACCUSATIVE, "hoslanmam": ABLATIVE,
            "hoslanmiyorum": ABLATIVE, "tiksinirim": ABLATIVE, "nefret": ABLATIVE}
_VERBS = _RESIDE | _MOVED | _WORK | set(_LIKE) | set(_DISLIKE)
_COPULA_1SG = re.compile(r"^(?:s?[iu])?(?:y?[iu]m)$")
_FROM = re.compile(r"^(?P<stem>.+?)(?:l[iu]y[iu]m|l[iu]m)$")
_NAMED = {"adinda", "isminde", "adli", "isimli"}
_SPLIT = {"ve", "ile", "veya", "ya", "yada", "&"}


def _accusative(token: Token, endings: tuple[str, ...]) -> str:
    """The liked thing without its case ending (see strip_ending); a lone i/u only after a vowel+consonant."""
    cut = strip_ending(token, endings, min_stem=3)
    if cut != token.orig or endings is not ACCUSATIVE:
        return cut
    word = token.fold
    if len(word) > 3 and word[-1] in "iu" and word[-2] not in "aeiou" and word[-3] in "aeiou":
        return strip_ending(token, ("i", "u"), min_stem=3)
    return token.orig


def _is_verb(word: str) -> bool:
    """A finite first-person verb ends the object of "severim" ("İzmir'de yaşıyorum ve kedi severim")."""
    return word in _VERBS or word.endswith(("yorum", "dim", "tim"))


def _name(clause: Clause) -> list[Fact]:
    tokens, out = clause.tokens, []
    if any(t.fold in NEGATIONS for t in tokens):
        return []
    for key in ("adim", "ismim"):
        i = clause.find(key)
        while i >= 0 and i + 1 < len(tokens) and tokens[i + 1].fold in FILLERS:
            i += 1
        if i >= 0:
            run = proper_run(tokens, i + 1)
            if run and usable(name_text(run)) and run[0].base not in ("adim", "ismim"):
                out.append(fact(clause, Slot.NAME, name_text(run)))
    i = clause.find("bana")
    if i >= 0 and i + 2 < len(tokens) and tokens[i + 2].fold.startswith(("de", "diy", "diye")):
        out.append(fact(clause, Slot.NAME, name_text([tokens[i + 1]])))
    words = [t for t in tokens if t.fold not in GREETINGS]
    # "Ben Kaan": a capitalised name, or any word after a greeting ("merhaba, ben deniz").
    named = all(t.capitalised for t in words[1:]) or len(words) < len(tokens)
    if not out and 2 <= len(words) <= 3 and words[0].fold == "ben" and named \
            and not any(t.base in NOT_A_NAME or profession_stem(t.base) for t in words[1:]):
        out.append(fact(clause, Slot.NAME, name_text(words[1:])))
    return [f for f in out if usable(f.value)]


def _place_before(tokens: tuple[Token, ...], verb: int, endings: tuple[str, ...]) -> str:
    """The place named just before ``verb`` with a case ending ("İzmir'de", "ankarada")."""
    for i in range(verb - 1, max(verb - 4, -1), -1):
        token = tokens[i]
        if token.fold in FILLERS:
            continue
        cut = strip_ending(token, endings)
        if cut == token.orig:
            return ""
        return name_text(proper_run_left(tokens, i), cut)
    return ""


def _places(clause: Clause) -> list[Fact]:
    tokens, out = clause.tokens, []
    for i, token in enumerate(tokens):
        resides = token.fold in _RESIDE or (token.fold == "ikamet" and i + 1 < len(tokens)
                                            and tokens[i + 1].fold in ("ediyorum", "ederim"))
        if resides or token.fold in _MOVED:
            place = _place_before(tokens, i, LOCATIVE if resides else DATIVE)
            if place:
                out.append(fact(clause, Slot.RESIDENCE, place))
        elif token.fold == "dogdum" and i > 0:
            start = next((j for j in range(max(i - 5, 0), i) if is_date_start(tokens[j])), None)
            end = i
            if start is not None:
                # The date ends at its case ending: "1990'da Ankara'da doğdum" is a year and a place.
                end = next((j + 1 for j in range(start, i) if "'" in tokens[j].fold
                            or strip_ending(tokens[j], LOCATIVE, 1) != tokens[j].orig), i)
                out.append(fact(clause, Slot.BIRTHDAY, date_text(list(tokens[start:end]))))
            if start is None or end < i:
                place = _place_before(tokens, i, LOCATIVE)
                if place:
                    out.append(fact(clause, Slot.BIRTHPLACE, place))
        elif token.fold in ("dogumluyum", "dogumluyum.") and i > 0:
            slot = Slot.BIRTHDAY if is_date_start(tokens[i - 1]) else Slot.BIRTHPLACE
            value = tokens[i - 1].orig if slot is Slot.BIRTHDAY else name_text(proper_run_left(tokens, i - 1))
            out.append(fact(clause, slot, value))
        elif token.fold in ("yasadigim", "oturdugum") and i + 2 < len(tokens) \
                and tokens[i + 1].fold in ("sehir", "yer", "il", "ulke", "semt", "ilce"):
            run = proper_run(tokens, i + 2)
            if run:
                out.append(fact(clause, Slot.RESIDENCE, name_text(run, strip_ending(run[-1], COPULA, 3))))
        elif token.fold == "memleketim" and i + 1 < len(tokens):
            run = proper_run(tokens, i + 1)
            if run:
                out.append(fact(clause, Slot.HOMETOWN, name_text(run, strip_ending(run[-1], COPULA, 3))))
        else:
            match = _FROM.match(token.fold.replace("'", ""))
            asl = i > 0 and tokens[i - 1].fold in ("aslen", "ben")
            known = match is not None and match.group("stem") in PLACES
            if match and (known or ((asl or "'" in token.fold)
                                    and (token.capitalised or tokens[i - 1].fold == "aslen"))):
                stem = token.orig_base if "'" in token.orig else token.orig[:len(match.group("stem"))]
                out.append(fact(clause, Slot.HOMETOWN, name_text([token], stem)))
    return [f for f in out if usable(f.value)]


def _work(clause: Clause) -> list[Fact]:
    tokens, out = clause.tokens, []
    olarak = clause.find("olarak")
    for i, token in enumerate(tokens):
        if token.fold in _WORK:
            start = 0
            for j in range(i - 1, -1, -1):
                located = strip_ending(tokens[j], LOCATIVE) != tokens[j].orig
                if "'" in tokens[j].fold or (j == i - 1 and located):
                    cut = strip_ending(tokens[j], LOCATIVE)
                    if cut != tokens[j].orig:
                        out.append(fact(clause, Slot.WORKPLACE, name_text(proper_run_left(tokens, j), cut)))
                        start = j + 1
                    break
            if 0 <= olarak < i:
                job = phrase_value(tokens[start:olarak], limit=4)
                if job:
                    out.append(fact(clause, Slot.JOB, joined(job, job[-1].orig)))
    for key in ("meslegim", "isim"):
        i = clause.find(key)
        if i >= 0 and (key == "meslegim" or i == 0) and i + 1 < len(tokens):
            job = phrase_value(tokens[i + 1:], limit=4)
            if job and not any(t.fold in ("var", "yok") for t in job):
                out.append(fact(clause, Slot.JOB, joined(job, strip_ending(job[-1], COPULA, 3))))
    if not any(f.slot is Slot.JOB for f in out):
        out.extend(_job_copula(clause))
    return [f for f in out if usable(f.value)]


def _job_copula(clause: Clause) -> list[Fact]:
    """"Öğretmenim", "Yazılım mühendisiyim", "Ben emekliyim": a profession with the copula "-(y)im"."""
    tokens = clause.tokens
    for i, token in enumerate(tokens):
        stem = profession_stem(token.fold)
        if stem is None or "'" in token.fold:
            continue
        rest = token.fold[len(stem):]
        match = _COPULA_1SG.match(rest)
        if not match or len(token.fold) != len(token.orig):
            continue
        copula = re.search(r"y?[iu]m$", rest)
        word = token.orig[: len(token.orig) - (len(copula.group(0)) if copula else 0)]
        before = [t for t in tokens[max(i - 2, 0):i] if "'" not in t.fold and not t.base[:1].isdigit()]
        words = phrase_value([*before, Token(word, word)], limit=3)
        if words:
            return [fact(clause, Slot.JOB, joined(words, word))]
    return []


def _age_and_birthday(clause: Clause) -> list[Fact]:
    tokens, out = clause.tokens, []
    for i, token in enumerate(tokens):
        nxt = tokens[i + 1].fold if i + 1 < len(tokens) else ""
        if token.base.isdigit() and (nxt == "yasindayim" or (nxt in ("yasina", "yasima")
                                                            and i + 2 < len(tokens))):
            out.append(fact(clause, Slot.AGE, token.base))
        if token.fold == "yasim" and nxt and tokens[i + 1].base.isdigit():
            out.append(fact(clause, Slot.AGE, tokens[i + 1].base))
    for key in ("dogum gunum", "dogum tarihim"):
        i = clause.find(key)
        if i >= 0:
            value = date_text(list(tokens[i + 2:i + 6]))
            if value and is_date_start(tokens[i + 2]):
                out.append(fact(clause, Slot.BIRTHDAY, value))
    return out


def _likes(clause: Clause) -> list[Fact]:
    tokens, out = clause.tokens, []
    for i, token in enumerate(tokens):
        verbs = _LIKE if token.fold in _LIKE else _DISLIKE if token.fold in _DISLIKE else None
        if verbs is None:
            continue
        slot = Slot.LIKES if verbs is _LIKE else Slot.DISLIKES
        items: list[list[Token]] = [[]]
        start = next((j + 1 for j in range(i - 1, -1, -1) if _is_verb(tokens[j].fold)), 0)
        for t in tokens[start:i]:
            if t.fold in _SPLIT:
                items.append([])
            else:
                items[-1].append(t)
        for item in items:
            words = phrase_value(item, limit=4)
            if words:
                value = joined(words, _accusative(words[-1], verbs[token.fold]))
                if usable(value):
                    out.append(fact(clause, slot, value))
    return out


def _favorite(clause: Clause) -> list[Fact]:
    tokens = clause.tokens
    i = clause.find("en sevdigim")
    size = 2
    if i < 0:
        i, size = clause.find("favori"), 1
    if i < 0 or i + size >= len(tokens):
        return []
    topic = TOPICS.get(tokens[i + size].base)
    after = phrase_value(tokens[i + size + 1:], limit=4) if topic else []
    if topic and after:
        return [fact(clause, Slot.FAVORITE, joined(after, strip_ending(after[-1], COPULA, 3)), topic=topic)]
    before = phrase_value(tokens[:i], limit=4)
    if topic and before:
        return [fact(clause, Slot.FAVORITE, joined(before), topic=topic)]
    return []


def _diet(clause: Clause) -> list[Fact]:
    for token in clause.tokens:
        for word, diet in DIETS.items():
            if token.fold.startswith(word) and _COPULA_1SG.match(token.fold[len(word):] or "x") \
                    and not any(t.fold in NEGATIONS for t in clause.tokens):
                return [fact(clause, Slot.DIET, diet)]
    return []


def _people(clause: Clause) -> list[Fact]:
    tokens, out = clause.tokens, []
    for relation, _start, end in relation_at(clause, ("in", "un", "nin", "nun")):
        nxt = tokens[end].fold if end < len(tokens) else ""
        if nxt in ("adi", "ismi") and end + 1 < len(tokens):
            run = proper_run(tokens, end + 1)
            if run and tokens[end + 1].fold not in FILLERS:
                out.append(fact(clause, Slot.NAME, name_text(run), relation))
        elif clause.find("dogum gunu", end) == end:
            value = date_text(list(tokens[end + 2:end + 6]))
            if value and end + 2 < len(tokens) and is_date_start(tokens[end + 2]):
                out.append(fact(clause, Slot.BIRTHDAY, value, relation))
    for relation, _start, end in relation_at(clause):
        aged = end + 1 < len(tokens) and tokens[end + 1].fold.startswith("yasinda")
        if aged and tokens[end].base.isdigit():
            out.append(fact(clause, Slot.AGE, tokens[end].base, relation))
    for i, token in enumerate(tokens):
        if token.fold in _NAMED and i > 0:
            found = [r for r, s, _e in relation_at(clause) if i < s <= i + 2]
            if found:
                out.append(fact(clause, Slot.NAME, name_text(proper_run_left(tokens, i - 1)), found[0]))
    return [f for f in out if usable(f.value)]


RULES: tuple[Callable[[Clause], list[Fact]], ...] = (
    _name, _places, _work, _age_and_birthday, _likes, _favorite, _diet, _people,
)
