"""Per-language phrase patterns for brand replies and customer thanks (Polish, Hungarian, English).

Every pattern is written for folded text: lowercase (``casefold``), diacritics stripped with
``models.augment.strip_diacritics`` and typographic apostrophes turned into ``'``. So
``"Przepraszamy"``, ``"przepraszam"`` and ``"PRZEPROSINY"`` all meet ``przepras\\w*|przeprosin\\w*``,
and ``"elnézést"`` is written ``elnezest``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


def _rx(*alternatives: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{a})" for a in alternatives))


@dataclass(frozen=True, slots=True)
class PhraseTable:
    """The rules of one language; each field is matched against folded text.

    ``negation`` cancels a solution or a closing in the same clause unless it is part of a
    ``harmless`` idiom ("no worries"); ``boundary`` words start a new clause; ``hedge`` marks a
    closing as conditional ("if the issue is resolved"); ``open_issue`` marks thanks that do not
    close (sarcasm, thanks in advance, a problem still standing, "but ...").
    """

    lang: str
    apology: re.Pattern[str]
    solution: re.Pattern[str]
    private: re.Pattern[str]
    hotline: re.Pattern[str]
    closing: re.Pattern[str]
    thanks: re.Pattern[str]
    open_issue: re.Pattern[str]
    negation: re.Pattern[str]
    harmless: re.Pattern[str]
    hedge: re.Pattern[str]
    boundary: re.Pattern[str]


ENGLISH = PhraseTable(
    lang="en",
    apology=_rx(r"\bsorry\b", r"\bapolog\w*", r"\bwe regret\b", r"\bregret (?:any|the)\b", r"\bpardon\b"),
    solution=_rx(
        r"\brefund\w*",
        r"\breimburs\w*",
        r"\bmoney back\b",
        r"\breplac\w*",
        r"\bre-?send\w*",
        r"\bre-?sent\b",
        r"\bre-?ship\w*",
        r"\bexchang\w*",
        r"\b(?:send|sent|sending|ship|shipped|dispatch\w*)\s+(?:\w+\s+){0,2}(?:new|another|replacement)\b",
        r"\bnew one\b",
        r"\bvouchers?\b",
        r"\bcoupons?\b",
        r"\bdiscount code\b",
        r"\bgift card\b",
        r"\bstore credit\b",
        r"\bcompensat\w*",
        r"\bfix(?:ed|es|ing)?\b",
        r"\brepair\w*",
    ),
    private=_rx(
        r"\bdms?\b",
        r"\bdirect message\w*",
        r"\bprivately\b",
        r"\bprivate (?:message|chat|channel|conversation)\w*",
        r"\bin private\b",
        r"\binbox\b",
        r"\bmessenger\b",
        r"\b(?:message|pm) us\b",
        r"\bsend us a (?:\w+ )?message\b",
        r"\b(?:a|via|by|in) pms?\b",
    ),
    hotline=_rx(
        r"\bhotline\b",
        r"\bhelpline\b",
        r"\bhelp ?desk\b",
        r"\bcall cent(?:er|re)\b",
        r"\btoll[- ]free\b",
        r"\bphone number\b",
        r"\bby (?:phone|telephone)\b",
        r"\b(?:call|phone|ring) (?:us|our|the)\b",
        r"\bgive us a (?:call|ring)\b",
        r"\b(?:contact|reach|call|get in touch with|speak to|speak with|talk to)\s+(?:\w+\s+){0,2}"
        r"(?:customer (?:service|support|care)|support team|service team)\b",
        r"\be-?mail (?:us|address)\b",
        r"\b(?:via|by|through) e-?mail\b",
        r"\b(?:send|drop|write) (?:us )?(?:an? )?e-?mail\b",
        r"\bcontact form\b",
    ),
    closing=_rx(
        r"\bcase (?:is |has been |now )*closed\b",
        r"\bclos(?:e|ing) (?:this|the) (?:case|ticket|thread)\b",
        r"\b(?:glad|happy|pleased) (?:that )?(?:we|i) (?:could|were able to|was able to|managed to) help\b",
        r"\b(?:glad|happy|pleased) to (?:have )?help(?:ed)?\b",
        r"\b(?:issue|problem|case|matter|complaint|ticket) (?:has been|is now|is|was|got) "
        r"(?:now )?(?:resolved|solved|sorted|closed|fixed)\b",
        r"\b(?:refund|replacement|exchange|repair) (?:has been|was|is now) "
        r"(?:completed|finalised|finalized)\b",
    ),
    thanks=_rx(r"\bthanks?\b", r"\bthank you\b", r"\bthx\b", r"\bthnx\b", r"\bty\b", r"\bcheers\b"),
    open_issue=_rx(
        r"\bfor nothing\b",
        r"\bfor (?:wasting|ignoring|not|the runaround)\b",
        r"\bno thanks\b",
        r"\bin advance\b",
        r"\bahead of time\b",
        r"\btia\b",
        r"\bstill\b",
        r"\byet\b",
        r"\bwait\w*",
        r"\bbut\b",
        r"\bhowever\b",
        r"\b(?:doesn't|does not|don't|do not|didn't|did not|isn't|is not|not|never|hasn't|haven't)\s+"
        r"(?:\w+\s+)?(?:work\w*|arriv\w*|receiv\w*|get|got|fix\w*|resolv\w*|help\w*)",
        r"\bno (?:reply|answer|response|refund|help)\b",
        r"\buseless\b",
    ),
    negation=_rx(r"\b(?:not|no|never|cannot|unable|impossible)\b", r"\w+n't\b", r"\bcan ?not\b"),
    harmless=_rx(
        r"\b(?:don't|do not) worry\b",
        r"\bno (?:worries|problem|need|charge|cost|extra)\b",
        r"\bnot (?:a problem|only)\b",
    ),
    hedge=_rx(r"\bif\b", r"\bwhether\b", r"\bhope\w*", r"\bonce\b", r"\bas soon as\b"),
    boundary=_rx(r"\b(?:but|and|so|if|then|however|although|while|whereas|we|i)\b"),
)

POLISH = PhraseTable(
    lang="pl",
    apology=_rx(
        r"\bprzepras\w*", r"\bprzeprosin\w*", r"\bprzykro (?:nam|mi)\b", r"\bwybacz\w*", r"\bzaluj\w*"
    ),
    solution=_rx(
        r"\bzwrot(?!n)\w*",
        r"\bzwroc\w*\b(?!\s+(?:sie|uwag\w*)\b)",
        r"\bodda\w* (?:pieniadze|srodki|kwote)\b",
        r"\b(?:pieniadze|srodki|kwota) (?:zostaly|zostana|zostala|zostanie) (?:\w+ )?"
        r"(?:zwrocon|przelan|oddan)\w*",
        r"\bwymian\w*",
        r"\bwymien(?:ic|imy|ilismy|iamy|i)\b",
        r"\b(?:wysl|nada|przesl|dosl)\w*\s+(?:\w+\s+){0,2}now\w*",
        r"\bponown\w* (?:wysl|nada|przesl)\w*",
        r"\b(?:wysl|nada|przesl)\w* ponown\w*",
        r"\bbon\w*",
        r"\bvoucher\w*",
        r"\bkod\w* rabat\w*",
        r"\brabat\w*",
        r"\brekompensat\w*",
        r"\bodszkodowan\w*",
        r"\bnapraw\w*",
        r"\bpoprawi\w*",
        r"\breklamacj\w* (?:zostala |jest )?(?:uznan|rozpatrzon\w* pozytywn)\w*",
    ),
    private=_rx(
        r"\bpriv\w*",
        r"\bpw\b",
        r"\bprywatnie\b",
        r"\bprywatn\w* wiadomo\w*",
        r"\bwiadomo\w* prywatn\w*",
        r"\bna prywatn\w*",
        r"\bmessenger\w*",
        r"\bdm\b",
        r"\binbox\w*",
        r"\b(?:napisz|napiszcie|wyslij|wyslijcie|przeslij|odezwij sie)\w*\s+"
        r"(?:do nas\s+)?(?:w\s+)?wiadomosc\w*",
    ),
    hotline=_rx(
        r"\binfolini\w*",
        r"\bzadzwon(?:ic|cie)?\b",
        r"\btelefoniczn\w*",
        r"\bnumer\w* telefon\w*",
        r"\bpod numer\w*",
        r"\b(?:skontaktuj|kontakt\w*|zwroc sie|zglos sie|napisz)\w*\s+(?:\w+\s+){0,4}"
        r"(?:bok|biur\w* obslugi|obslug\w* klienta|dzial\w* obslugi|centrum obslugi|call center)\b",
        r"\bmailow\w*",
        r"\bna (?:adres )?(?:e-?)?mail\w*",
        r"\b(?:e-?)?mailem\b",
        r"\b(?:napisz|napiszcie|wyslij|przeslij|kontakt)\w*\s+(?:\w+\s+){0,3}(?:e-?)?mail\w*",
        r"\bformularz\w* kontaktow\w*",
    ),
    closing=_rx(
        r"\bciesz\w* sie,? (?:ze|iz) (?:\w+\s+){0,3}(?:pomoc|pomogl\w*|rozwiaz\w*|udalo)\b",
        r"\b(?:sprawa|problem|reklamacja|zgloszenie|kwestia) (?:zostal[ao]?|jest) (?:juz )?"
        r"(?:rozwiazan\w*|zamknie\w*|zalatwion\w*|rozpatrzon\w*)",
        r"\bzamykamy (?:\w+ )?(?:sprawe|zgloszenie|watek)\b",
        r"\bzwrot (?:zostal|jest) (?:juz )?(?:zrealizowany|zakonczony|wykonany)\b",
    ),
    thanks=_rx(r"\bdzieki\w*", r"\bdziekuj\w*", r"\bdziex\b", r"\bdzienki\b", r"\bdzieks\b"),
    open_issue=_rx(
        r"\bza (?:nic|niczego|olewanie|ignorowanie|zbywanie)\b",
        r"\bz gory\b",
        r"\bnie dziekuj\w*",
        r"\bnadal\b",
        r"\bwciaz\b",
        r"\bciagle\b",
        r"\bdalej nie\b",
        r"\bjeszcze nie\b",
        r"\bnie (?:dziala|dotarl\w*|otrzymal\w*|dostal\w*|przyszl\w*|przyszedl|ma (?:zwrotu|odpowiedzi))\b",
        r"\bczeka\w*",
        r"\b(?:ale|lecz|jednak)\b",
    ),
    negation=_rx(r"\bnie\b", r"\bniemozliw\w*", r"\bbrak\b"),
    harmless=_rx(r"\bnie martw\w* sie\b", r"\bnie ma (?:problemu|sprawy)\b"),
    hedge=_rx(r"\bjesli\b", r"\bjezeli\b", r"\bczy\b", r"\bgdy\b", r"\bgdyby\b", r"\bmam\w* nadziej\w*"),
    boundary=_rx(r"\b(?:ale|lecz|jednak|wiec|a|i|oraz|jesli|jezeli|gdy|gdyby|natomiast)\b"),
)

HUNGARIAN = PhraseTable(
    lang="hu",
    apology=_rx(r"\belnezes\w*", r"\bsajnal\w*", r"\bbocsanat\w*", r"\bbocs\b"),
    solution=_rx(
        r"\bvisszaterit\w*",
        r"\bvisszautal\w*",
        r"\bvisszakap\w*",
        r"\bvisszafizet\w*",
        r"\b(?:ki|be)?cser[e]\w*",
        r"\bujrakuld\w*",
        r"\buj\w*\s+(?:\w+\s+)?(?:el|ki)?kuld\w*",
        r"\b(?:el|ki)?kuld\w*\s+(?:\w+\s+){0,2}uj\w*",
        r"\bkupon\w*",
        r"\butalvany\w*",
        r"\bvoucher\w*",
        r"\bkedvezmeny\w*",
        r"\bjovair\w*",
        r"\bkarterites\w*",
        r"\bkompenz\w*",
        r"\b(?:ki|meg)?javit\w*",
        r"\belharit\w*",
    ),
    private=_rx(
        r"\bprivat\w*",
        r"\bpm(?:-?(?:ben|et|ben))?\b",
        r"\bdm\w*",
        r"\bmessenger\w*",
        r"\binbox\w*",
        r"\bkozvetlen uzenet\w*",
        r"\buzenetben\b",
        r"\b(?:irj|irjon|irjanak|irjatok|kuldj\w*)\s+(?:nekunk\s+)?(?:egy\s+)?uzenet\w*",
    ),
    hotline=_rx(
        r"\b(?:fel)?hiv(?:ja|jon|janak|jatok|d|j|hatja|hato)\b",
        r"\btelefonszam\w*",
        r"\btelefonon\b",
        r"\btelefonos ugyfelszolgalat\w*",
        r"\bzold ?szam\w*",
        r"\bcall ?center\w*",
        r"\binfovonal\w*",
        r"\bforrodrot\w*",
        r"\b(?:hiv|keres|fordul|irj|vegye fel|jelentkez)\w*\s+(?:\w+\s+){0,3}ugyfelszolgalat\w*",
        r"\bugyfelszolgalat\w*\s+(?:\w+\s+){0,4}(?:hiv|keres|elerhet|fordul)\w*",
        r"\be-?mail(?:ben|cim\w*|\s+cim\w*)",
        r"\b(?:irj|irjon|irjanak|kuldj\w*|keress\w*)\s+(?:\w+\s+){0,3}e-?mail\w*",
    ),
    closing=_rx(
        r"\borul\w*,? (?:hogy )?(?:\w+\s+){0,2}(?:segit\w*|megold\w*|sikerult)",
        r"\b(?:ugy|ugyet|problema|panasz|reklamacio|hiba)\w* (?:\w+ )?"
        r"(?:megoldod\w*|megoldott\w*|lezar\w*|rendezt\w*|rendezodott|elharitott\w*)",
        r"\blezar(?:juk|tuk|om|tam)\b",
        r"\bvisszaterites\w* (?:\w+ )?(?:megtortent|teljesult|lezajlott)\b",
    ),
    thanks=_rx(r"\bkoszon\w*", r"\bkoszi\w*", r"\bkoszke\b", r"\bkosz\b", r"\bkoszike\b"),
    open_issue=_rx(
        r"\b(?:a|semmit|semmiert)\s+(?:semmit|semmiert)\b",
        r"\belore\b",
        r"\bnem koszon\w*",
        r"\bmeg (?:mindig|nem|sem|semmi)\b",
        r"\btovabbra is\b",
        r"\bnem (?:mukodik|jott|erkezett|kaptam|kaptuk|jelentkez\w*|valaszol\w*)\b",
        r"\bvar(?:ok|om|unk|juk|ni)\b",
        r"\b(?:de|viszont|azonban)\b",
    ),
    negation=_rx(r"\bnem\b", r"\bnincs\w*", r"\bsem\b", r"\blehetetlen\w*", r"\bne\b"),
    harmless=_rx(r"\bne aggod\w*", r"\bnem (?:gond|problema)\b", r"\bsemmi gond\b"),
    hedge=_rx(r"\bha\b", r"\bhatha\b", r"\bremel\w*", r"\bamennyiben\b", r"\bvajon\b"),
    boundary=_rx(r"\b(?:de|es|ha|igy|viszont|azonban|amennyiben|mert)\b"),
)

TABLES: tuple[PhraseTable, ...] = (ENGLISH, POLISH, HUNGARIAN)
