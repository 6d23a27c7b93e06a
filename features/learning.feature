Feature: The learning loop
  Every 👍, 👎 and correction is kept with the exact messages the model was sent, becomes SFT,
  DPO and KTO training data in the shapes mlx-lm and TRL read, and a correction that says the
  message was meant for another intent teaches the router.

  Scenario Outline: Export formats
    Given an initialised home folder
    And an answer corrected after earlier turns, a 👍 answer and a 👎 answer
    When I export the feedback as "<format>"
    Then the file has <rows> rows with TRL's conversational keys <keys>
    And every row starts from the messages the model was sent

    Examples:
      | format | rows | keys                     |
      | sft    | 1    | messages                 |
      | dpo    | 1    | prompt, chosen, rejected |
      | kto    | 4    | prompt, completion, label |

  Scenario: A misroute correction changes the router's answer for that message
    Given a home serving the in-memory model
    And I asked "Kombim E03 hatası veriyor" and it was routed to "code_debug"
    When I correct that answer with the intent "general_chat"
    Then the router routes "Kombim E03 hatası veriyor" to "general_chat" after retraining
    And router eval on that message shows accuracy 1.0 where it was 0.0

  # `feedback train`, the promotion gate, the history and rollback. The trainers are fakes here
  # (tests/integration/test_feedback_train_mlx.py trains for real on the tiny model); the model
  # is the in-memory one, told how the candidate ranks the corrections.

  Scenario: The gate stays closed below 10 corrections and says how many are missing
    Given a home serving the in-memory model with fake trainers
    And tr_chat has 9 corrected answers
    When I run "evotr feedback train --family tr_chat"
    Then the command fails
    And the output contains "tr_chat has 9 corrections: 1 more needed for training (min 10)"
    And family "tr_chat" has no new version

  Scenario: A candidate that wins is promoted and the running chat uses it at once
    Given a home serving the in-memory model with fake trainers
    And family "tr_chat" serves "tr_chat_v1"
    And a chat is running and its message is answered by "tr_chat_v1"
    And tr_chat has 10 corrected answers
    And the next candidate ranks every correction above the original answer
    When I run "evotr feedback train --family tr_chat"
    Then the command succeeds
    And the output contains "tr_chat_v2 PROMOTED"
    And the running chat's next message is answered by "tr_chat_v2"
    And the history records "tr_chat_v2" as "promoted" after "tr_chat_v1"

  Scenario: A worse candidate is refused, with the numbers, and the active version stays
    Given a home serving the in-memory model with fake trainers
    And family "tr_chat" serves "tr_chat_v1"
    And tr_chat has 10 corrected answers
    And the next candidate ranks every original answer above its correction
    When I run "evotr feedback train --family tr_chat"
    Then the command succeeds
    And the output contains "tr_chat_v2 KEPT, not active (the gate refused it)"
    And the output contains "✗ learned its training corrections: preference accuracy 0.00 (0/7, mean margin -1.000) < 0.80 required"
    And family "tr_chat" serves "tr_chat_v1" and "tr_chat_v2" is registered
    And the history records "tr_chat_v2" as "kept" after "tr_chat_v1"

  Scenario: A promotion from feedback can be rolled back, and the history shows both
    Given a home serving the in-memory model with fake trainers
    And family "tr_chat" serves "tr_chat_v1"
    And tr_chat has 10 corrected answers
    And the next candidate ranks every correction above the original answer
    When I run "evotr feedback train --family tr_chat"
    And I run "evotr adapters rollback tr_chat"
    Then the command succeeds
    And family "tr_chat" serves "tr_chat_v1" and "tr_chat_v2" is registered
    And "evotr adapters history tr_chat --json" lists "feedback_train" then "rollback"
