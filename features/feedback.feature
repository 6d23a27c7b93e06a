Feature: Feedback statistics and the training gate
  Every 👍, 👎 and correction lands in one SQLite database. `evotr feedback stats` prints what the
  old product printed, and training waits for enough corrections.

  Background:
    Given an initialised home folder

  Scenario: The old product's numbers
    Given 5 answered turns
    And feedback "correction" on 2 turns
    And feedback "thumbs_down" on 2 turns
    And feedback "thumbs_up" on 1 turn
    When I run "evotr feedback stats --json"
    Then the command succeeds
    And the JSON has total 5, corrections 2, thumbs_down 2, thumbs_up 1
    And the JSON says "8 more corrections needed for training (min 10)"

  Scenario: Ten corrections open the gate
    Given 10 answered turns
    And feedback "correction" on 10 turns
    When I run "evotr feedback stats --json"
    Then the JSON says training is ready

  Scenario: The table view prints the same numbers
    Given 3 answered turns
    And feedback "thumbs_up" on 3 turns
    When I run "evotr feedback stats"
    Then the command succeeds
    And the output contains "10 more corrections needed for training (min 10)"

  Scenario: Feedback on a turn that does not exist is refused and nothing is stored
    Given 1 answered turn
    When feedback "thumbs_up" is given on an unknown turn
    Then it is refused naming that turn id
    And the feedback total is 0
