"""What a fact about the user is: who it is about, which slot, its value, and how it is stored."""

from __future__ import annotations

from enum import StrEnum

import attrs

from evotr.domain.text import fold
from evotr.domain.validation import non_empty_text

USER = "user"


class Slot(StrEnum):
    """What a fact says about its subject."""

    NAME = "name"
    RESIDENCE = "residence"
    HOMETOWN = "hometown"
    BIRTHPLACE = "birthplace"
    JOB = "job"
    WORKPLACE = "workplace"
    AGE = "age"
    BIRTHDAY = "birthday"
    LIKES = "likes"
    DISLIKES = "dislikes"
    FAVORITE = "favorite"
    DIET = "diet"


# Slots that hold many values at once (one likes pizza AND sushi); every other slot holds one
# value per subject (and topic), so a new value there supersedes the old one.
MULTI_VALUED = frozenset({Slot.LIKES, Slot.DISLIKES})
# Saying the opposite about the same value supersedes the old fact ("artık sevmiyorum").
OPPOSITE = {Slot.LIKES: Slot.DISLIKES, Slot.DISLIKES: Slot.LIKES}

# How a fact reads in the system prompt (Turkish, like the persona). {who} is "Kullanıcının" or
# "Kullanıcının eşinin"; FAVORITE adds its topic.
_LABELS = {
    Slot.NAME: "{who} adı", Slot.RESIDENCE: "{who} yaşadığı yer", Slot.HOMETOWN: "{who} memleketi",
    Slot.BIRTHPLACE: "{who} doğduğu yer", Slot.JOB: "{who} mesleği", Slot.WORKPLACE: "{who} çalıştığı yer",
    Slot.AGE: "{who} yaşı", Slot.BIRTHDAY: "{who} doğum günü / yılı", Slot.LIKES: "{who} sevdiği bir şey",
    Slot.DISLIKES: "{who} sevmediği bir şey", Slot.FAVORITE: "{who} en sevdiği {topic}",
    Slot.DIET: "{who} beslenme şekli",
}


def value_key(value: str) -> str:
    """The form two spellings of one value share ("İzmir", "Izmir", "izmir" → "izmir")."""
    return " ".join(fold(value).replace("'", " ").split())


@attrs.frozen(slots=True)
class Fact:
    """One thing the user said about themselves or someone close to them.

    ``subject`` is ``user`` or a relation key (``spouse``, ``dog``, ...) whose Turkish genitive
    label is ``subject_label`` ("eşinin"); ``topic`` qualifies FAVORITE ("renk"); ``said`` is
    the clause it came from.
    """

    subject: str = attrs.field(validator=non_empty_text)
    slot: Slot = attrs.field(converter=Slot)
    value: str = attrs.field(validator=non_empty_text)
    said: str = attrs.field(validator=non_empty_text)
    topic: str = ""
    subject_label: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        """What must match for two facts to be about the same thing (slot value aside)."""
        return (self.subject, self.slot.value, self.topic)

    @property
    def value_key(self) -> str:
        """The folded value (see :func:`value_key`)."""
        return value_key(self.value)

    @property
    def multi_valued(self) -> bool:
        """True when the slot holds many values (a new one is added, not superseding)."""
        return self.slot in MULTI_VALUED

    @property
    def text(self) -> str:
        """The line the system prompt gets, e.g. ``Kullanıcının eşinin adı: Ayşe``."""
        who = "Kullanıcının" if self.subject == USER else f"Kullanıcının {self.subject_label or self.subject}"
        return f"{_LABELS[self.slot].format(who=who, topic=self.topic or 'şey')}: {self.value}"
