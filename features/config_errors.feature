Feature: Config mistakes are reported as one clear line
  The old product kept two intent-mapping files that disagreed, and some mappings pinned adapter
  versions, so a typo or a stale version silently routed messages to the wrong adapter. Now every
  mistake in configs/evotr.yaml or configs/intents.yaml stops loading with exactly one line that
  names the file, the line and the key to fix.

  Scenario: An intent mapped to an undefined family is one clear error line naming file, line and key
    Given a private copy of the shipped configuration
    When I map intent "code_python" to family "python_codr"
    Then loading the configuration fails
    And the error is one line naming the edited file, the edited line and key "intents.code_python.family"
    And the error says "unknown family 'python_codr'; families defined: python_coder, tr_chat"

  Scenario: A typo'd key is rejected with a suggestion
    Given a private copy of the shipped configuration
    When I misspell the key "family" of intent "code_python" as "famly"
    Then loading the configuration fails
    And the error is one line naming the edited file, the edited line and key "intents.code_python.famly"
    And the error says "unknown key; did you mean 'family'?"

  Scenario: A wrong type names the expected type
    Given a private copy of the shipped configuration
    When I set "max_tokens" in section "context" of evotr.yaml to "true"
    Then loading the configuration fails
    And the error is one line naming the edited file, the edited line and key "context.max_tokens"
    And the error says "expected an integer"
    And the error says "found a boolean"

  Scenario: A mapping that names a version instead of a family is rejected
    Given a private copy of the shipped configuration
    When I map intent "code_python" to family "python_coder_v1"
    Then loading the configuration fails
    And the error is one line naming the edited file, the edited line and key "intents.code_python.family"
    And the error says "looks like a version"
    And the error says "registry"

  Scenario: A family defined with a version in its name is rejected
    Given a private copy of the shipped configuration
    When I rename family "python_coder" to "python_coder_v2" everywhere in intents.yaml
    Then loading the configuration fails
    And the error is one line naming the edited file, the edited line and key "families.python_coder_v2"
    And the error says "looks like a version"
