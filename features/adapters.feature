Feature: Comparing adapter versions makes an adapter that changes nothing impossible to miss
  The old product trained tr_chat_v2, found that v1 and v2 gave the same answers and never
  learned why. `evotr adapters compare A B` measures the base model, A and B on one resident
  model (the adapters are hot-swapped) and warns loudly, with the likely causes, when an adapter
  answers exactly like the base model or A answers exactly like B.

  Background:
    Given a home on the tiny model with a tr_chat dataset

  Scenario: A zero (no-op) adapter is flagged by compare and a trained one is not
    Given adapter "tr_chat_v1" has all-zero LoRA weights
    And adapter "tr_chat_v2" is trained on the dataset
    When I run "evotr adapters compare tr_chat_v1 tr_chat_v2"
    Then the command succeeds
    And the output warns that "tr_chat_v1" gives the same greedy answers as the base model
    And the output names "not applied" and "zero" as likely causes
    And the output has no warning about "tr_chat_v2"

  Scenario: Two versions with the same answers are flagged as V1 = V2
    Given adapter "tr_chat_v1" is trained on the dataset
    And adapter "tr_chat_v2" is a copy of "tr_chat_v1"
    When I run "evotr adapters compare tr_chat_v1 tr_chat_v2 --json"
    Then the command succeeds
    And the JSON warns that "tr_chat_v1" and "tr_chat_v2" give the same answers, naming "same data"
    And the JSON shows 100% identical outputs for "tr_chat_v1/tr_chat_v2" and less for "base/tr_chat_v1"

  Scenario: show prints a version's manifest, training config and loss curve path
    Given adapter "tr_chat_v1" is trained on the dataset
    When I run "evotr adapters show tr_chat_v1 --json"
    Then the command succeeds
    And the JSON shows dataset "tiny_tr_chat", learning_rate 0.001 and its loss curve

  Scenario: Training makes the first version active; later ones wait for promotion; rollback returns
    Given a LoRA config for family "tr_chat" on the dataset
    When I train with the config
    Then the command succeeds
    And family "tr_chat" serves "tr_chat_v1" to the next message
    When I train with the config
    Then the command succeeds
    And version "tr_chat_v2" exists and family "tr_chat" serves "tr_chat_v1" to the next message
    When I run "evotr adapters promote tr_chat_v2"
    Then family "tr_chat" serves "tr_chat_v2" to the next message
    When I run "evotr adapters rollback tr_chat"
    Then family "tr_chat" serves "tr_chat_v1" to the next message
