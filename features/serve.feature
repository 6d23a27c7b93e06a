Feature: An OpenAI-compatible API on the one resident model
  `evotr serve` answers OpenAI clients (the openai SDK, editors, Open WebUI) from the same
  resident model, adapters and database as the CLI. The model name picks routing, the base model,
  a family or one version; answers stream; feedback sent over HTTP counts like the CLI's.

  Background:
    Given a home where "tr_chat_v1" is trained and promoted
    And the home is served over HTTP

  Scenario: An OpenAI client gets an answer it can give feedback on
    When an OpenAI client asks "Merhaba, nasılsın?" with model "evotr"
    Then the answer is stored as a turn from "api"
    And the answer names its intent, adapter and turn id

  Scenario: A streamed answer arrives in pieces and ends with [DONE]
    When an OpenAI client streams "Merhaba, nasılsın?" with model "evotr"
    Then the pieces join into the stored answer
    And the last event is "data: [DONE]"

  Scenario Outline: The model name chooses the adapter
    When an OpenAI client asks "Python'da liste nasıl sıralanır?" with model "<model>"
    Then the model was asked with adapter "<adapter>"

    Examples:
      | model            | adapter    |
      | evotr:none       | none       |
      | evotr:tr_chat    | tr_chat_v1 |
      | evotr:tr_chat_v1 | tr_chat_v1 |

  Scenario: The model list shows exactly what can be chosen
    When an OpenAI client lists the models
    Then the models are "evotr, evotr:none, evotr:python_coder, evotr:tr_chat, evotr:tr_chat_v1"

  Scenario: A mistyped model name is refused with the names that exist
    When an OpenAI client asks "Merhaba" with model "evotr:weather"
    Then the request is refused with status 404 naming "model"
    And nothing is stored

  Scenario: Feedback sent over HTTP counts in the CLI's stats
    Given an OpenAI client asked "Merhaba, nasılsın?" with model "evotr"
    When the client sends "thumbs_up" on that answer
    And I run "evotr feedback stats --json"
    Then the stats count 1 thumbs up and 0 corrections

  Scenario: A long conversation is trimmed oldest-first, never the system prompt or the question
    When an OpenAI client sends 40 long exchanges, a system message and a question
    Then the answer says how many older turns were dropped
    And the model was sent the system message, the newest turns and the question

  # The web page at / (headless Chromium in the tests)

  Scenario: The web page streams an answer and shows how it was routed
    Given the page is open in a browser
    When I send "Merhaba, nasılsın?" on the page
    Then the answer appears under my message with its intent, adapter and confidence
    And the page's answer is stored as a turn from "web"

  Scenario: 👍 and ✏️ on the page count in the CLI's stats
    Given the page is open in a browser
    When I send "Merhaba" on the page
    And I click 👍 under answer 1
    And I send "Nasılsın?" on the page
    And I correct answer 2 on the page to "İyiyim, teşekkürler!"
    Then the page's stats show 1 👍 and 1 ✏️
    When I run "evotr feedback stats --json"
    Then the stats count 1 thumbs up and 1 corrections

  Scenario: Markup in a message stays text on the page
    Given the page is open in a browser
    When I send "<img src=x onerror=alert(1)>" on the page
    Then my message and the answer show "<img src=x onerror=alert(1)>" as text
    And the page made no image and opened no alert

  Scenario: The adapter selector offers routing, the base model, families and versions
    Given the page is open in a browser
    Then the adapter selector offers "auto (yönlendirme), none (temel model), python_coder → temel model, tr_chat → tr_chat_v1, tr_chat_v1"
    When I choose "tr_chat_v1" in the adapter selector and send "Merhaba" on the page
    Then the page's answer was made with adapter "tr_chat_v1"
