Feature: One registry decides which adapter version serves each intent
  The old product kept answering with tr_chat_v1 and python_coder_v1 after the v2 adapters
  were trained, because the version was written into code. Here intents map to families and
  the registry alone knows each family's active version.

  Background:
    Given a home folder with the shipped intent mapping

  Scenario: A family with no trained version serves the base model and says so
    Then intent "history" is served by the base model
    And the adapter list says family "tr_chat" is "serving base model (no version trained yet)"

  Scenario: Promoting a newer version moves every intent of the family to it
    Given adapter "python_coder_v1" is trained and promoted
    And adapter "python_coder_v2" is trained
    Then intent "code_python" is served by "python_coder_v1"
    And the adapter list says family "python_coder" is "active python_coder_v1; newer python_coder_v2 not promoted"
    When I promote "python_coder_v2"
    Then every intent of family "python_coder" is served by "python_coder_v2"
    And the registry file on disk names "python_coder_v2" as active for "python_coder"

  Scenario: Rolling back returns to the previous version
    Given adapter "tr_chat_v1" is trained and promoted
    And adapter "tr_chat_v2" is trained and promoted
    When I roll back family "tr_chat"
    Then intent "general_chat" is served by "tr_chat_v1"

  Scenario: An active version whose folder is missing stops start-up with a clear error
    Given adapter "tr_chat_v1" is trained and promoted
    When the folder of "tr_chat_v1" is deleted
    Then start-up validation fails naming intent "science", family "tr_chat" and the folder of "tr_chat_v1"

  Scenario: An active version with a missing weights file stops start-up
    Given adapter "python_coder_v1" is trained and promoted
    When the file "adapters.safetensors" of "python_coder_v1" is deleted
    Then start-up validation fails naming intent "code_debug", family "python_coder" and the folder of "python_coder_v1"

  Scenario: A broken version cannot be promoted
    Given adapter "tr_chat_v1" is trained
    When the file "adapter_config.json" of "tr_chat_v1" is deleted
    Then promoting "tr_chat_v1" is refused with a message containing "adapter_config.json"
    And intent "general_chat" is served by the base model

  Scenario Outline: Path-like adapter names are rejected before touching the disk
    Then promoting "<name>" is refused with a message containing "not a valid adapter version name"

    Examples:
      | name                 |
      | ../x                 |
      | tr_chat/../../etc_v1 |
      | /etc/passwd_v1       |

  Scenario: A family that the intent mapping does not know cannot be promoted or rolled back
    Then promoting "weather_v1" is refused with a message containing "unknown family 'weather'; families in the intent mapping: python_coder, tr_chat"
    And rolling back family "weather" is refused with a message containing "unknown family 'weather'"

  Scenario: Promoting and rolling back from the command line
    Given adapter "tr_chat_v1" is trained and promoted
    And adapter "tr_chat_v2" is trained
    When I run "evotr adapters promote tr_chat_v2"
    Then the command succeeds
    And intent "history" is served by "tr_chat_v2"
    When I run "evotr adapters rollback tr_chat"
    Then the command succeeds
    And intent "history" is served by "tr_chat_v1"

  Scenario: The adapter list exits non-zero and names the problem when an active version is broken
    Given adapter "python_coder_v1" is trained and promoted
    When the file "adapters.safetensors" of "python_coder_v1" is deleted
    And I run "evotr adapters list --json"
    Then the command fails
    And the JSON shows family "python_coder" with a problem mentioning "adapters.safetensors"

  Scenario: The start-up check passes on a healthy home and names a broken version once with its intents
    Given adapter "tr_chat_v1" is trained and promoted
    When I run "evotr adapters check"
    Then the command succeeds
    And the output contains "ok: tr_chat"
    When the folder of "tr_chat_v1" is deleted
    And I run "evotr adapters check"
    Then the command fails
    And one error line names "tr_chat_v1" and the intents "general_chat, turkish_culture, history, science"
