"""Word lists the extraction rules read, all in folded form (Turkish lower-case, no diacritics).

Folded forms match both spellings a user types: "köpeğim" and "kopegim" are both ``kopegim``.
"""

from __future__ import annotations

import attrs


@attrs.frozen(slots=True)
class Relation:
    """Someone (or a pet) close to the user, as they name it in Turkish and English."""

    key: str
    label: str  # the Turkish genitive after "Kullanıcının": "eşinin"
    turkish: tuple[str, ...]  # first-person possessive forms: "esim", "karim"
    english: tuple[str, ...]  # nouns after "my": "wife", "husband"


# Longer forms first: "erkek kardesim" must win over "kardesim", "en yakin arkadasim" over "arkadasim".
RELATIONS: tuple[Relation, ...] = (
    Relation("best_friend", "en yakın arkadaşının", ("en yakin arkadasim", "kankam"), ("best friend",)),
    Relation("girlfriend", "kız arkadaşının", ("kiz arkadasim",), ("girlfriend",)),
    Relation("boyfriend", "erkek arkadaşının", ("erkek arkadasim",), ("boyfriend",)),
    Relation("brother", "erkek kardeşinin", ("erkek kardesim", "abim", "agabeyim"), ("brother",)),
    Relation("sister", "kız kardeşinin", ("kiz kardesim", "ablam"), ("sister",)),
    Relation("spouse", "eşinin", ("esim", "karim", "kocam", "hanimim", "beyim"),
             ("wife", "husband", "spouse")),
    Relation("mother", "annesinin", ("annem",), ("mother", "mom", "mum")),
    Relation("father", "babasının", ("babam",), ("father", "dad")),
    Relation("sibling", "kardeşinin", ("kardesim",), ("sibling",)),
    Relation("son", "oğlunun", ("oglum",), ("son",)),
    Relation("daughter", "kızının", ("kizim",), ("daughter",)),
    Relation("child", "çocuğunun", ("cocugum",), ("child", "kid")),
    Relation("partner", "sevgilisinin", ("sevgilim",), ("partner",)),
    Relation("fiance", "nişanlısının", ("nisanlim",), ("fiance", "fiancee")),
    Relation("friend", "arkadaşının", ("arkadasim",), ("friend",)),
    Relation("dog", "köpeğinin", ("kopegim",), ("dog", "puppy")),
    Relation("cat", "kedisinin", ("kedim",), ("cat", "kitten")),
    Relation("bird", "kuşunun", ("kusum",), ("bird", "parrot")),
    Relation("pet", "evcil hayvanının", ("evcil hayvanim",), ("pet",)),
    Relation("boss", "patronunun", ("patronum", "mudurum", "yoneticim"), ("boss", "manager")),
    Relation("grandfather", "dedesinin", ("dedem",), ("grandfather", "grandpa")),
    Relation("grandmother", "büyükannesinin", ("ninem", "babaannem", "anneannem"),
             ("grandmother", "grandma")),
    Relation("cousin", "kuzeninin", ("kuzenim",), ("cousin",)),
    Relation("uncle", "amcasının", ("amcam", "dayim", "enistem"), ("uncle",)),
    Relation("aunt", "teyzesinin", ("teyzem", "halam", "yengem"), ("aunt",)),
)

# Words that make a clause a question (Turkish particles and wh-words, English wh-words).
QUESTION_WORDS = frozenset({
    "ne", "neydi", "nedir", "neymis", "nerede", "nerde", "neresi", "nereli", "nereye", "nereden",
    "kim", "kimdir", "kimin", "hangi", "hangisi", "kac", "nasil", "neden", "niye", "niçin", "nicin",
    "mi", "mu", "misin", "miyim", "miydi", "musun", "muyum", "midir", "miyiz",
    "what", "whats", "where", "who", "whose", "which", "how", "why", "when",
})
# An English clause starting with these is a question ("do I like ...?", "is my name ...?").
ENGLISH_AUXILIARIES = frozenset({"do", "does", "did", "is", "are", "am", "can", "could", "would", "will",
                                 "should", "have", "has"})
# Hypotheticals and reported speech: nothing in such a clause is a fact about the user.
HYPOTHETICAL = frozenset({"eger", "sayet", "olsaydi", "olsa", "farzet", "diyelim", "if", "suppose",
                          "imagine", "pretend", "unless", "dedi", "diyor", "said", "says"})
NEGATIONS = frozenset({"degil", "degilim", "not", "never", "dont", "don't", "didnt", "isnt", "aren't"})

# Words that never start or end a name, place or liked thing ("Ben", "artık", "çok", "really").
FILLERS = frozenset({
    "ben", "bende", "de", "da", "artik", "simdi", "an", "suan", "cok", "en", "hep", "gercekten",
    "hic", "asla", "genelde", "genellikle", "cidden", "aslinda", "bayagi", "baya", "bir", "biraz",
    "ayrica", "zaten", "hala", "yine", "tabii", "tabi", "evet", "hayir", "yani", "ise", "ki", "icin",
    "i", "really", "also", "now", "still", "just", "actually", "totally", "absolutely", "so", "very",
    "much", "the", "a", "and", "but", "too", "merhaba", "selam", "hey", "hi", "hello", "iste",
    "oh", "peki", "tamam", "sey",
})
GREETINGS = frozenset({"merhaba", "selam", "selamlar", "hey", "hi", "hello", "slm", "mrb", "iyi", "gunler",
                       "aksamlar", "gunaydin", "good", "morning", "evening"})
# Pronouns and vague words that are not a value ("I like it", "bunu severim").
NOT_A_VALUE = frozenset({"it", "this", "that", "them", "you", "him", "her", "bunu", "sunu", "onu",
                         "seni", "sizi", "bunlari", "onlari", "bu", "o", "sen", "siz", "here", "there",
                         "things", "stuff", "everything", "nothing", "hersey", "hicbir"}) | QUESTION_WORDS
# Words that point at something in the conversation ("this answer", "bu fikir", "senin kodun").
POINTING = frozenset({"this", "that", "these", "those", "your", "yours", "its", "it", "bu", "o", "senin",
                      "sizin", "bunu", "onu", "sunu", "bunlari", "onlari", "boyle", "soyle"})
# Capitalised words after "I'm" that are not a name ("I'm Turkish", "I'm Fine").
NOT_A_NAME = frozenset({
    "turkish", "turk", "english", "american", "british", "german", "french", "italian", "spanish",
    "russian", "kurdish", "fine", "ok", "okay", "good", "great", "tired", "sorry", "happy", "sad", "back",
    "here", "ready", "busy", "home", "hungry", "sure", "new", "iyi", "iyiyim", "tamam", "muslim",
    "christian", "jewish", "atheist", "vegan", "vegetarian", "single", "married", "retired",
})

# Occupations (folded stems): "Öğretmenim", "Yazılım mühendisiyim", "I'm a nurse".
PROFESSIONS = (
    "muhendis", "ogretmen", "doktor", "hekim", "avukat", "hemsire", "ogrenci", "yazilimci", "gelistirici",
    "programci", "tasarimci", "mimar", "muhasebeci", "polis", "asker", "asci", "garson", "sofor",
    "pilot", "akademisyen", "arastirmaci", "memur", "ciftci", "eczaci", "veteriner", "gazeteci",
    "yazar", "ressam", "muzisyen", "sanatci", "oyuncu", "analist", "danisman", "kuafor", "berber",
    "terzi", "elektrikci", "tesisatci", "teknisyen", "psikolog", "fizyoterapist", "diyetisyen", "hakim",
    "savci", "bankaci", "girisimci", "emekli", "isci", "esnaf", "tamirci", "fotografci", "editor",
    "cevirmen", "tercuman", "profesor", "kaptan", "itfaiyeci", "satici", "mudur", "yonetici", "uzman",
    "engineer", "teacher", "doctor", "lawyer", "nurse", "student", "developer", "programmer", "designer",
    "architect", "accountant", "officer", "chef", "cook", "waiter", "driver", "researcher", "scientist",
    "journalist", "writer", "artist", "musician", "actor", "actress", "analyst", "consultant", "manager",
    "pharmacist", "dentist", "vet", "veterinarian", "professor", "lecturer", "farmer", "retired",
    "freelancer", "entrepreneur", "translator", "photographer", "pilot", "soldier", "mechanic",
    "electrician", "plumber", "technician", "psychologist", "therapist", "secretary", "clerk",
    "cashier", "salesman", "administrator", "librarian", "barber", "hairdresser", "tailor",
)
# Diets are preferences with one value ("Vejetaryenim" / "I'm vegan").
DIETS = {"vejetaryen": "vejetaryen", "vegetarian": "vejetaryen", "vegan": "vegan",
         "pesketaryen": "pesketaryen", "pescatarian": "pesketaryen", "glutensiz": "glütensiz",
         "gluten-free": "glütensiz"}

# FAVORITE topics, every way of naming one → the Turkish word shown ("rengim", "color" → renk).
TOPICS = {
    "renk": "renk", "rengim": "renk", "rengi": "renk", "color": "renk", "colour": "renk",
    "yemek": "yemek", "yemegim": "yemek", "food": "yemek", "dish": "yemek", "meal": "yemek",
    "film": "film", "filmim": "film", "movie": "film", "kitap": "kitap", "kitabim": "kitap",
    "book": "kitap", "sarki": "şarkı", "sarkim": "şarkı", "song": "şarkı", "takim": "takım",
    "takimim": "takım", "team": "takım", "icecek": "içecek", "icecegim": "içecek", "drink": "içecek",
    "spor": "spor", "sporum": "spor", "sport": "spor", "muzik": "müzik", "music": "müzik",
    "sanatci": "sanatçı", "sanatcim": "sanatçı", "singer": "sanatçı", "sarkici": "şarkıcı",
    "sarkicim": "şarkıcı", "band": "grup", "grup": "grup", "grubum": "grup", "dizi": "dizi",
    "dizim": "dizi", "show": "dizi", "series": "dizi", "oyun": "oyun", "oyunum": "oyun", "game": "oyun",
    "sehir": "şehir", "sehrim": "şehir", "city": "şehir", "hayvan": "hayvan", "hayvanim": "hayvan",
    "animal": "hayvan", "meyve": "meyve", "meyvem": "meyve", "fruit": "meyve", "tatli": "tatlı",
    "tatlim": "tatlı", "dessert": "tatlı", "yazar": "yazar", "yazarim": "yazar", "author": "yazar",
    "programlama dili": "programlama dili", "dil": "dil", "dilim": "dil", "language": "dil",
    "mevsim": "mevsim", "mevsimim": "mevsim", "season": "mevsim", "sey": "şey", "seyim": "şey",
    "thing": "şey", "kahve": "kahve", "kahvem": "kahve", "coffee": "kahve", "hobi": "hobi",
    "hobim": "hobi", "hobby": "hobi",
}

# Turkey's 81 provinces and a few big cities abroad (folded): "Ankaralıyım" is a hometown, while
# "Mutluyum" (happy) has the same ending.
PLACES = frozenset({
    "adana", "adiyaman", "afyon", "afyonkarahisar", "agri", "amasya", "ankara", "antalya", "artvin",
    "aydin", "balikesir", "bilecik", "bingol", "bitlis", "bolu", "burdur", "bursa", "canakkale",
    "cankiri", "corum", "denizli", "diyarbakir", "edirne", "elazig", "erzincan", "erzurum", "eskisehir",
    "gaziantep", "antep", "giresun", "gumushane", "hakkari", "hatay", "isparta", "mersin", "istanbul",
    "izmir", "kars", "kastamonu", "kayseri", "kirklareli", "kirsehir", "kocaeli", "izmit", "konya",
    "kutahya", "malatya", "manisa", "kahramanmaras", "maras", "mardin", "mugla", "mus", "nevsehir",
    "nigde", "ordu", "rize", "sakarya", "adapazari", "samsun", "siirt", "sinop", "sivas", "tekirdag",
    "tokat", "trabzon", "tunceli", "urfa", "sanliurfa", "usak", "van", "yozgat", "zonguldak", "aksaray",
    "bayburt", "karaman", "kirikkale", "batman", "sirnak", "bartin", "ardahan", "igdir", "yalova",
    "karabuk", "kilis", "osmaniye", "duzce", "berlin", "londra", "paris", "amsterdam", "viyana",
    "bakü", "baku", "kibris", "lefkosa", "girne", "selanik", "uskup", "saraybosna", "munih", "koln",
})

MONTHS = frozenset({
    "ocak", "subat", "mart", "nisan", "mayis", "haziran", "temmuz", "agustos", "eylul", "ekim",
    "kasim", "aralik", "january", "february", "march", "april", "may", "june", "july", "august",
    "september", "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug",
    "sep", "sept", "oct", "nov", "dec",
})
