Feature: Chat on one resident model with per-message adapters
  Every message is routed; the routed intent's family decides the adapter, and the registry
  decides the version. Low-confidence messages fall back to general_chat. Feedback commands
  act on the last answer. Long conversations are trimmed oldest-first.

  Background:
    Given a home where "tr_chat_v1" and "python_coder_v1" are trained and promoted
    And "python_coder_v2" is trained and promoted

  Scenario: A routed reply uses the family's active version
    Given the router is 0.93 sure that "Python'da liste nasıl sıralanır?" is "code_python"
    When I send "Python'da liste nasıl sıralanır?"
    Then the reply names intent "code_python" with confidence 0.93 and no fallback
    And the model was asked with adapter "python_coder_v2"
    And the stored turn records intent "code_python" and adapter "python_coder_v2"

  Scenario: Below the threshold the message falls back to general_chat's adapter
    Given the router is 0.55 sure that "5+3 kaç eder" is "code_math"
    When I send "5+3 kaç eder"
    Then the reply names intent "general_chat" with confidence 0.55 and a fallback
    And the model was asked with adapter "tr_chat_v1"

  Scenario: Forcing the base model ignores the routed adapter
    Given the router is 0.93 sure that "Python'da liste nasıl sıralanır?" is "code_python"
    When I send "Python'da liste nasıl sıralanır?" with adapter "none"
    Then the model was asked with the base model

  Scenario: /correct stores a correction for the last turn
    Given the router is 0.9 sure that "İstanbul ne zaman fethedildi?" is "history"
    When I type these lines in the chat:
      | line                                        |
      | İstanbul ne zaman fethedildi?               |
      | /correct İstanbul 1453'te fethedildi.       |
    Then the database holds a correction "İstanbul 1453'te fethedildi." on the last turn
    And the chat confirmed the correction on screen

  Scenario: A 200-turn conversation never exceeds the context budget
    Given a context of 400 tokens with 64 kept for the reply
    And the router is 0.9 sure that "soru" is "general_chat"
    When I send 200 messages
    Then no prompt sent to the model exceeded 336 tokens
    And every prompt started with the system prompt and ended with the message just sent
    And the last prompt dropped the oldest turns
