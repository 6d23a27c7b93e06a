"""Facts about the user in what they write: pure rules, Turkish and English."""

from evotr.domain.facts.asked import asked_about
from evotr.domain.facts.extract import extract_facts
from evotr.domain.facts.model import MULTI_VALUED, OPPOSITE, USER, Fact, Slot, value_key

__all__ = ["MULTI_VALUED", "OPPOSITE", "USER", "Fact", "Slot", "asked_about", "extract_facts", "value_key"]
