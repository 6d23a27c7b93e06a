"""What a personal memory can be about, as folded Turkish and English words (a general lexicon).

A question rarely repeats the words of the fact it asks about: "Memleketim neresi?" for "Aslen
Trabzonluyum", "Karımın ismi" for "eşimin adı", "Evdeki hayvan" for "Kedim". Both sides name
the same *kind* of thing, though, and these lists say which words name which kind. They are
written from the language, kind by kind (family words, health words, ...), not from any test
set: an entry ``word*`` matches every word starting with it, a bare ``word`` only itself, and
``two_words*`` a run of neighbouring words. Short or ambiguous roots are listed as whole words
("es", "esim": eş; not "es*", which would match "eski").
"""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    """The whitespace-separated words of a word list written as a block of text."""
    return frozenset(text.split())


CONCEPTS: dict[str, str] = {
    "name": """ad adi adim adin adini adimi adimiz adinda adli isim ismi* isimli* isminde* soyad* hitap*
        lakap* name* called call seslen* cagir* lakab* nickname*""",
    "age": """yas yasim* yasin yasinda* yasina* yasini yasli* kac_yasinda* age aged old""",
    "birthday": """dogum* dogdu* dogdug* yas_gunu* yasgunu* dunyaya_gel* birthday* born bday dogum_yili*
        kutla*""",
    "home": """ev evi evim* evin evinde evimiz* evde evden eve ikamet* oturuyor* otururum oturdug*
        yasiyor* yasarim yasadig* yasamak* yasayan* semt* ilce* mahalle* sokag* sokak* adres* apartman*
        daire* oda odali* odasi* site sitede live lives living home* house* address* apartment* flat
        neighbourhood* neighborhood* kaliyor* kaliyoruz kaldigim* kiralik* kirada ev_sahib* sehir* sehr*
        kasaba*""",
    "hometown": """memleket* aslen nereli* dogumlu* koylu* hometown* grew dogdugum_yer* buyudug*
        cocuklugum*""",
    "work": """ne_is* is_yap* is_yeri* isi ise iste isten isyeri* meslek* calisiyor* calisirim calistig*
        calisma* ofis* sirket* firma* patron* mudur* yonetici* mesai* proje* ekip* takim_arkadas*
        meslektas* kariyer* emekli* maas* brans* job* work works working worked office* company* boss*
        colleague* career* employer* retire* vardiya* nobet* terfi* isten_cik* is_gorusme*""",
    "family": """aile* es esi esim* esin esine esini esiyle esler* kari karim* karin karisi* koca kocam*
        kocan kocasi* evli* evlen* evlilik* dugun* nisanli* sevgili* anne* baba* kardes* abla* abi abim*
        abisi* agabey* kuzen* teyze* halam* halan halasi* amca* dayi* kayin* eniste* yenge* akraba*
        yegen* torun* dede dedem* dedesi* nine ninem* babaanne* anneanne* cocuk* cocug* ogul oglu*
        oglan* kiz kizi kizim* kizin kizina* kizlar* bebek* family* wife* husband* spouse* mother* mom
        mum father* dad brother* sister* sibling* sons daughter* child* kid kids cousin* aunt* uncle*
        relative* married* parent* grand* baby babies""",
    "friend": """arkadas* dost* kanka* ahbap* komsu* friend* buddy* neighbo*""",
    "workplace": """ofis* isyeri* is_yeri* sirket* firma* plaza* fabrika* santiye* magaza* hastane*
        okulum okulumuz* buro* office* workplace* company* factory*""",
    "problem": """sorun* hata* problem* sikinti* ariza* bozul* bozuk* calismiyor* dert* zarar* tehlike*
        risk* error* bug* issue* wrong broken* trouble*""",
    "weekend": """hafta_son* haftasonu* cumartesi* pazar pazari pazarlari pazar_gunu* weekend* saturday*
        sunday*""",
    "pet": """hayvan* kedi* kopek* kopeg* kus kusum* kusu muhabbet* papagan* akvaryum* hamster* tavsan*
        yavru* mama* veteriner* tasma* gezdir* cins irk irki pet pets cat cats dog dogs puppy* kitten*
        vet animal* tekir* sokak_kedi* irk*""",
    "health": """saglik* hasta* ilac* doktor* hekim* hastane* alerj* agri* agrit* migren* tansiyon*
        diyabet* seker_hasta* kan kani kanim* tahlil* muayene* asi asisi* asilar* asiyi asilan* tedavi*
        ameliyat* fitik* gozluk* lens miyop* hipermetrop* astim* kolesterol* vitamin* intolerans*
        laktoz* gluten* sigara* recete* disci* dis_hekim* goz gozum* gozler* bel belim* health* sick*
        ill illness* medic* pill* doctor* allerg* pain* headache* migraine* blood vaccin* glasses
        diabetes* surgery* therapy* dentist* smok* diyet* kilo* fizyoterap* fizik_tedavi* psikolog*
        terapi* hastalig* rahatsiz* grip* nezle* bas_agri* sirt* colyak* kan_bagis* insulin* eczane*""",
    "food": """yemek* yemeg* yemeyi* yemiyor* yemem yiyor* yiyecek* yiyebil* mutfag* mutfak* tarif*
        kahvalti* ogle tatli* seker* et eti etler* tavuk* balik balig* baliga* deniz_urun* deniz_mahsul*
        sebze* meyve* vejetaryen* vegan* lezzet* aci acili* baharat* pizza* makarna* corba* salata*
        kebap* doner* manti* menemen* borek* baklava* kunefe* dolma* pilav* lahmacun* peynir* laktoz*
        gluten* food* eat eats eating meal* dish* recipe* breakfast* lunch* dinner* dessert* sweet*
        vegetarian* spicy* cuisine* cook* pescatarian* ekmek* ekmeg* hamur* yiyem* ogun* atistir* diyet*
        sushi* burger* pasta* cikolata* dondurma*""",
    "drink": """icecek* icerim iciyor* icmek* icmem icmiyor* kahve* cay cayi* cayim* caylar* su sut*
        ayran* sarap* bira biralar* alkol* raki limonata* drink* coffee* tea teas milk* beer* wine*
        alcohol* juice* filtre_kahve* espresso* latte* demli* kahve_makine*""",
    "music": """muzik* muzig* sarki* sanatci* dinle* dinli* konser* album* caz jazz* rock pop rap turku*
        enstruman* gitar* piyano* keman* baglama* saz davul* flut* orkestra* koro* podcast* music* song*
        singer* band bands concert* listen* guitar* piano* violin* instrument* drum* grup grubu*
        spotify* playlist* calma_liste*""",
    "reading": """kitap* kitab* roman* okudu* okurum okuyorum okumay* okuma okumak yazar* siir* dergi*
        hikaye* eser* edebiyat* kutuphane* book* novel* read reading* reads author* poem* poetry*
        library* literature* bilim_kurgu* polisiye* fantastik*""",
    "screen": """film* dizi diziler* dizileri* dizisi* sinema* izle* televizyon* belgesel* netflix*
        movie* series show shows watch* cinema* tv documentar* bilim_kurgu* polisiye* korku* komedi*
        dram* animasyon* anime* youtube* disney*""",
    "sport": """spor* futbol* basketbol* voleybol* tenis* yuzme* yuzmey* yuzuyor* yuzerim havuz* kosu*
        kosmak* kosuyor* kosarim maraton* pilates* yoga* fitness* antrenman* egzersiz* idman* bisiklet*
        kayak* yuruyus* yurume* yuruyor* yururum tirmanis* halisaha* hali_saha* mac maci* maca* maclar*
        takim takimi* takima taraftar* fenerbahce* galatasaray* besiktas* trabzonspor* sport* football*
        soccer* gym run running* swim* exercise* workout* team teams match fan fans tennis* basketball*
        hiking* snowboard* pedal* basket* surf* sorf* dalis* tirman* boks* dovus* crossfit* zumba*
        squash* golf* masa_tenisi* paten* kosar* kosuya* kosuyu*""",
    "travel": """tatil* seyahat* gezi* gezmek* gezdik* gezecek* gezdig* gezeceg* yurt_disi* yurtdisi*
        ulke* tur turu otel* ucak* ucus* bilet* pasaport* vize* balayi* yazlik* kamp* konakla* cadir*
        travel* trip* vacation* holiday* abroad* country* countries* flight* hotel* visit* tour*
        ziyaret* tatile""",
    "language": """dil dili dilim* dilde dilden dilleri* dilini* dillerini* ingilizce* almanca*
        fransizca* ispanyolca* italyanca* rusca* arapca* japonca* cince* turkce* korece* farsca* kurtce*
        konusuyor* konusurum konusabil* language* speak* english german french spanish fluent*""",
    "abroad": """yurt_disi* yurtdisi* ulke* ulkede ulkeye yabanci* gurbet* almanya* fransa* ingiltere*
        amerika* abd kanada* japonya* italya* ispanya* hollanda* belcika* isvicre* avusturya* norvec*
        isvec* danimarka* finlandiya* rusya* cin* kore* yunanistan* bulgaristan* gurcistan* azerbaycan*
        iran* irak* misir* fas* portekiz* polonya* macaristan* cekya* irlanda* avustralya* meksika*
        brezilya* arjantin* hindistan* tayland* endonezya* dubai* katar* berlin* munih* koln* hamburg*
        frankfurt* londra* paris* roma* milano* venedik* barselona* madrid* amsterdam* viyana* prag*
        budapeste* atina* moskova* tokyo* new_york* abroad* foreign* overseas* country* countries*
        germany* france* england* canada* japan* italy* spain* usa""",
    "education": """okul* universite* univ* lise lisede lisesi* liseden ilkokul* ortaokul* anaokul*
        kres* mezun* diploma* yuksek_lisans* master* doktora* ogrenci* ders* sinif* sinav* hoca*
        ogretmen* kurs* egitim* bolum* fakulte* kampus* okuyor okuyorum school* universit* college*
        graduat* degree* class classes course* student* teacher* study* studied studies kindergarten*
        okudum okudu* lisans* onlisans*""",
    "transport": """araba* arac araci* aracim* aracimiz* otomobil* ehliyet* surucu* metro* otobus*
        tramvay* vapur* marmaray* taksi* bisiklet* motosiklet* ulasi* ulasim* trafik* yolculuk* servis*
        car cars drive* driving* bus buses train* subway* bike* bicycle* commut* license* licence*
        toplu_tasima* tasima* dolmus* minibus* scooter* yuruyerek*""",
    "money": """para parasi* param* maas* kira* kredi* fatura* ekstre* butce* lira* tl dolar* euro*
        avro* borc* odeme* oduyor* odedi* oderim odenir* aidat* banka* hesap* birikim* yatirim* harcama*
        taksit* ucret* fiyat* pahali* ucuz* money* salary* rent* bill bills pay pays paid payment* bank*
        loan* budget* debt* mortgage* price* cost* borcum* kart karti* kartim* kredi_kart* son_odeme*
        harcama*""",
    "shopping": """alisveris* market* manav* pazardan pazarindan pazara carsi* magaza* avm siparis*
        kasap* firin* shopping* shop shops store* grocer* supermarket*""",
    "schedule": """randevu* toplanti* takvim* ajanda* plan plani* planim* planli* program programim*
        appointment* meeting* schedule* calendar* plans sprint* planlama* gorusme* etkinlik* davet*""",
    "sleep": """uyu uyurum uyuyor* uyumak* uyudug* uyan* kalkiyor* kalkarim kalkmak* yatarim yatmadan*
        yatma yatmak* uyku* sleep* wake* woke bed bedtime* yatiyorum""",
    "device": """telefon* bilgisayar* laptop* dizustu* tablet* ipad* iphone* android* pixel* samsung*
        macbook* thinkpad* ekran* klavye* phone* computer* smartphone* konsol* playstation* ps5 xbox*
        nintendo* monitor* islemci* ram kulaklik* kamera*""",
    "code": """kod* python* fonksiyon* liste* sozluk* degisken* modul* hata* istisna* dongu* sinif
        async* thread* coroutine* lambda* tuple* string* fstring* f_string* decorator* dekorator*
        generator* iterator* algoritma* programla* yazilim* code coding* function* list lists dict*
        variable* class classes exception* error* bug* loop* software* karsilastir* birlestir* sirala*
        ifade*""",
    "dev_tools": """editor* ide vscode* neovim* vim emacs* pycharm* sublime* jupyter* notebook* colab*
        betik* script* terminal* konsol* uygulama* program* obsidian* notion* excel* sheets* tablo*
        grafik* matplotlib* pandas* numpy* app apps tool* spreadsheet* chart* plot* gorsellestir*
        dashboard* rapor* power_bi* tableau* figma* photoshop* komut* bash* shell* chmod""",
    "version_control": """git github* gitlab* bitbucket* branch* dal dali* dalimiz* dallar* commit*
        merge* pull_request* pr onay* review* inceleme* depo* repo* main develop master devops*
        azure_devops*""",
    "code_quality": """lint* ruff black flake8 pylint* mypy* isort format* bicimlendir* girinti* tab
        bosluk* stil style* test* pytest* unittest* kapsama* coverage* docstring* tip_ipucu* type_hint*
        annotation*""",
    "database": """veritabani* db sql* postgres* mysql* sqlite* mongo* redis* orm* tablo* sorgu*
        database* query* queries veri_ambari* veriler* snowflake* bigquery* oracle* depola*""",
    "infrastructure": """sunucu* server* backend* frontend* arka_uc* production* prod deploy*
        canli_ortam* linux* ubuntu* debian* windows* macos* wsl isletim_sistem* docker* kubernetes*
        bulut* aws azure gcp cloud* log logla* logging* os""",
    "packages": """paket* pip poetry uv conda* venv sanal_ortam* ortam* environment* kutuphane* library*
        libraries package* dependenc* bagimlilik* framework* cati catisi* fastapi* django* flask* surum*
        versiyon* version* release* pandas* polars* numpy* matplotlib* seaborn* scipy* scikit* sklearn*
        requests pydantic* sqlalchemy*""",
    "notes": """not notlar* notlari* notlarim* notu notum* note notes""",
    "garden": """bahce* cicek* bitki* fide* sera domates* biber* garden* plant* flower* balkon* saksi*
        feslegen* nane* yetistir* ektim* ekiyor* buyut*""",
    "hobby": """hobi* koleksiyon* atolye* el_isi* orgu* resim* seramik* comlek* bulmaca* sudoku*
        satranc* oyun* puzzle* hobby* craft* paint* chess* game* knit* fotograf* cizim* dikis*
        bahcecilik* balik_tut* turnuva* elo lego*""",
    "likes": """severim seviyor* sevmem sevmiyor* sevdig* sevdik* sever sevmez* seven sevmek* sevmeyi*
        begen* hoslan* tercih* favori* bayil* nefret* like likes love* prefer* favorite* favourite*
        hate* enjoy*""",
    "assistant": """cevap* yanit* acikla* hitap* resmi samimi* uslup* uslub* uzunlug* kisa kisaca*
        ayrinti* detay* ornek* answer* reply* replies explain* formal* tone style* example* detail*
        brief* concise* madde* bicimlendir* yorum_satir*""",
}

# What a question asks for (the answer's type) and how it asks, folded; "*" as above.
ASKS: dict[str, str] = {
    "when": """ne_zaman* kacta saat_kac* hangi_gun* hangi_ay* hangi_yil* hangi_saat* ne_siklikla*
        ne_kadar_sik* kac_kez* kac_kere* ne_vakit* when what_time* how_often* which_day*""",
    "where": """nerede nerde nereye nereden neresi* nereli* nerden hangi_sehir* hangi_semt* hangi_ilce*
        hangi_ulke* hangi_il where which_city* which_country*""",
    "who": """kim kimdi* kimdir kimi kime kimle kiminle kimin kimse adi_ne* ismi_ne* adim_ne* ismim_ne*
        adin_ne* adlari_ne* isimleri_ne* who whom whose what_is_the_name* whats_the_name*""",
    "amount": """kac ne_kadar* kac_tane* how_many* how_much* how_old""",
    "instruction": """melisin malisin meli_misin mali_misin meliyim soylemistim dikkat_etmelisin*
        should_you* did_i_tell* did_i_ask*""",
}

# Words that mark when something happens: weekdays, parts of the day, seasons, "every ...".
TIME_WORDS = _words("""
pazartesi sali carsamba persembe cuma cumartesi pazar pazarlari sabah sabahlari aksam aksamlari
gece geceleri ogle oglen ogleden aksamustu gunbatimi hafta haftada haftasonu gunde ayda yilda yil
yillik aylik saat yaz yazin kis kisin bahar ilkbahar sonbahar bayram bayramlarda yilbasi yilbasini
dun bugun yarin monday tuesday wednesday thursday friday saturday sunday morning evening night
weekend daily weekly monthly yearly tomorrow today yesterday summer winter spring autumn
""")
# Numbers in words ("kırk bir yaşındayım"): amounts and ages written out.
NUMBER_WORDS = _words("""
iki uc dort bes alti yedi sekiz dokuz on yirmi otuz kirk elli altmis yetmis seksen doksan yuz bin
milyon two three four five six seven eight nine ten twenty thirty forty fifty hundred thousand
""")
# Titles that follow or precede a person's name ("Selin Hanım", "Dr. Can").
TITLES = frozenset({"hanim", "bey", "teyze", "amca", "abla", "abi", "dr", "hoca", "hocam", "mr", "mrs",
                    "ms"})
# Endings of a place word: where something is or goes ("Maslak'ta", "Kanada'ya", "Bornova'daki").
PLACE_ENDINGS = ("da", "de", "ta", "te", "daki", "deki", "taki", "teki", "ya", "ye", "dan", "den",
                 "tan", "ten", "a", "e")
# "İstanbulluyum", "Trabzonlu": where someone is from, after a place name.
FROM_ENDINGS = ("luyum", "liyim", "lu", "li", "lum", "lim", "lular", "liler")
