Feature: Routing messages to intents
  Every message gets a calibrated probability per intent from the n-gram router trained on the
  shipped configs/intents.yaml. Below the 0.7 threshold it falls back to general_chat. Turkish
  letters, casing and their ASCII spellings route the same way.

  Background:
    Given the router of the shipped configuration

  Scenario Outline: The old product's messages are routed confidently
    When I route "<message>"
    Then it goes to "<intent>" with confidence at least 0.7 and no fallback

    Examples:
      | message               | intent       |
      | Merhaba nasılsın      | general_chat |
      | Python liste oluştur  | code_python  |
      | 5+3 kaç eder          | code_math    |
      | Osmanlı tarihi anlat  | history      |
      | Fizik kanunları nedir | science      |

  Scenario: A message of pure noise falls back to general_chat
    When I route "asdkjh qwpoe zzxq"
    Then it falls back to "general_chat" below 0.7 confidence

  Scenario: Spellings with and without Turkish letters route alike
    When I route each of "nasilsin", "NASILSIN" and "nasılsın"
    Then they all go to the same intent with identical probabilities
