Feature: Long-term memory across sessions, under the user's control
  What the user tells EVO-TR about themselves is kept in Chroma and comes back into the system
  prompt of later sessions. Saying a fact again does not store it twice; saying something that
  contradicts it replaces it (the old value stays as history, never recalled); the store is capped,
  evicting what was recalled longest ago; and a forgotten memory never comes back.

  Background:
    Given a home with long-term memory in Chroma

  Scenario: A fact told in one session is in a new session's prompt
    When I say "Benim adım Kaan" in a new session
    And I say "Adım ne?" in a new session
    Then the last prompt's system message contains "Kaan"
    And the last reply lists the memory id of the fact "Kullanıcının adı: Kaan"

  Scenario: The same fact said twice is stored once
    When I say "Benim adım Kaan" in a new session
    And I say "benim adim kaan" in a new session
    Then memory holds 1 fact
    And "evotr memory list --json" shows the fact "Kullanıcının adı: Kaan" stated 2 times

  Scenario: A contradiction supersedes the old fact
    When I say "Ankara'da yaşıyorum" in a new session
    And I say "Artık İzmir'de yaşıyorum" in a new session
    And I say "Nerede yaşıyorum?" in a new session
    Then the last prompt's system message contains "İzmir"
    And the last prompt's system message does not contain "Ankara"
    And "evotr memory show" of the fact "Kullanıcının yaşadığı yer: İzmir" lists "Ankara" as history

  Scenario: The cap evicts the memory recalled longest ago
    # A floor of 1.0 recalls only the facts a message asks about, so which memory was recalled
    # longest ago does not depend on the embedder's scores.
    Given the memory cap is 3 and the recall floor is 1.0
    When I say "Benim adım Kaan" in a new session
    And I say "Ankara'da yaşıyorum" in a new session
    And I say "Adım ne?" in a new session
    And I say "Köpeğimin adı Karabaş" in a new session
    Then memory holds 3 memories
    And the fact "Kullanıcının adı: Kaan" is still stored
    And the fact "Kullanıcının yaşadığı yer: Ankara" is gone

  Scenario: A forgotten memory is never recalled again
    When I say "Benim adım Kaan" in a new session
    And I forget the fact "Kullanıcının adı: Kaan" with "evotr memory forget"
    And I say "Adım ne?" in a new session
    Then the last prompt's system message does not contain "Kaan"
    And the last reply lists no memory ids

  Scenario: A correction comes back as a few-shot example, and the repeat is a cache hit
    When I say "Python'da bir liste nasıl sıralanır?" in a new session
    And I correct the last answer with "sorted(liste) yeni bir sıralı liste döndürür."
    And I say "Python'da liste nasıl sıralanır?" in a new session
    Then the last prompt has the few-shot example "sorted(liste) yeni bir sıralı liste döndürür."
    And the last reply's exemplar cache was a miss
    When I say "python'da LİSTE nasil siralanir?" in a new session
    Then the last prompt has the few-shot example "sorted(liste) yeni bir sıralı liste döndürür."
    And the last reply's exemplar cache was a hit
    And "evotr feedback stats --json" reports 1 exemplar cache hit
