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
    And I asked "Kedim neden sürekli miyavlıyor?" and it was routed to "code_debug"
    When I correct that answer with the intent "science"
    Then the router routes "Kedim neden sürekli miyavlıyor?" to "science" after retraining
    And router eval on that message shows accuracy 1.0 where it was 0.0
