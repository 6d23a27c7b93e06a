"""Lazy factories of the intent router: the n-gram router chat uses (with the sentence embedding
it shares with memory recall), the in-memory one for tests, and the learned routes file."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evotr.application.settings import Settings


def memory_classifier(settings: Settings) -> Any:
    """Build the ``memory classifier`` backend (imports it only now)."""
    from evotr.infrastructure.memory.intent_classifier import InMemoryIntentClassifier
    from evotr.infrastructure.router.learned import with_learned

    classifier = InMemoryIntentClassifier()
    classifier.fit(with_learned(settings.intents.examples, learned_routes(settings.home).examples()))
    return classifier


def ngram_router(examples: Mapping[Any, Any], home: Path, embedder: Any = None,
                 embedder_name: str | None = None, share_message: bool = False, retrain: bool = False,
                 query_map: Any = None) -> Any:
    """The saved/trained router for chat, or (``retrain``) a trainer for `evotr router train`.

    It learns the intents file's examples plus ``<home>/router/learned.jsonl`` (misroute
    corrections); the saved model's examples hash covers both, so a new label retrains it.
    ``embedder`` (memory.embedder's model, behind the cache memory recall shares) adds
    sentence-embedding features; ``share_message`` (memory enabled) puts every text memory
    recall embeds for the message (the message as typed and the clauses its facts were said in)
    in that cache too, in the router's one batched call, for recall to find. When recall's
    ``query_map`` reads the words (the query tower), the router reads the tower's vectors instead
    (named ``usem3-tower-`` and the tower file's hash, so it is trained on them): one tower pass
    over the message and its router spelling then serves routing and recall, and only the
    message is shared.
    """
    from evotr.infrastructure.router.classifier import RouterTrainer, load_or_train
    from evotr.infrastructure.router.learned import with_learned
    from evotr.infrastructure.router.persistence import router_cache

    towered = reads_text(query_map) and embedder is not None
    if towered:
        embedder = query_map.questions
        embedder_name = embedder.name
    learned = learned_routes(home).examples()
    merged = with_learned(examples, learned)
    if retrain:
        return RouterTrainer(merged, home / "router", embedder=embedder, embedder_name=embedder_name)
    from evotr.application.memory.recall import texts_to_embed

    def shared_texts(message: str) -> list[str]:
        return texts_to_embed(message)[:1] if towered else texts_to_embed(message)

    # A home whose router learned from its user's corrections keeps its model to itself: those
    # are the user's own messages, and the machine-wide cache outlives the home.
    return load_or_train(merged, home / "router", embedder=embedder, embedder_name=embedder_name,
                         share_message=shared_texts if share_message else False,
                         shared=None if learned else router_cache())


def reads_text(query_map: Any) -> bool:
    """Whether recall's ``query_map`` (None: none) searches by the question's words alone."""
    return bool(getattr(query_map, "reads_text", False))


def router_spellings(classifier: Any) -> Any:
    """Memory recall's ``also_embed``: the texts the chat router (``classifier``, a provider,
    resolved on first use) embeds beside those it shares with recall."""
    def spellings(text: str) -> list[str]:
        own = getattr(classifier(), "spellings", None)
        return list(own(text)) if callable(own) else []
    return spellings


def learned_routes(home: Path) -> Any:
    """The learned router examples of ``home`` (``router/learned.jsonl``)."""
    from evotr.infrastructure.router.learned import FILE_NAME, LearnedRoutesFile

    return LearnedRoutesFile(home / "router" / FILE_NAME)
