Feature: A single intent-to-family mapping
  The old product had two mapping files that disagreed (`adapter_tr_chat` in one, `tr_chat` in the
  other). Now configs/intents.yaml is the only mapping, it names families only, and the CLI and the
  library read the same one.

  Scenario: The shipped mapping sends chat intents to tr_chat and code intents to python_coder
    Given the shipped configuration
    Then intents "general_chat, turkish_culture, history, science" map to family "tr_chat"
    And intents "code_python, code_debug, code_explain, code_math" map to family "python_coder"

  Scenario: The adapter list shows the families of the one mapping
    Given the shipped configuration
    And an initialised home folder
    When I run "evotr adapters list --json"
    Then the command succeeds
    And the JSON lists families "python_coder, tr_chat" with the intents of the mapping

  Scenario: A second, disagreeing name for a family is impossible
    Given the shipped configuration
    When the mapping sends intent "turkish_culture" to family "adapter_tr_chat"
    Then loading the configuration fails with one line naming "intents.yaml", "intents.turkish_culture.family" and "unknown family 'adapter_tr_chat'"

  Scenario: Every intent must be mapped
    Given the shipped configuration
    When the mapping leaves out intent "code_math"
    Then loading the configuration fails with one line naming "intents.yaml", "code_math" and "missing"
