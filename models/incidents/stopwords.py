"""Words that never make a flare-up's top terms: Polish, Hungarian and English function words and
the filler of complaints ("please", "today"). Lowercase, with and without diacritics where people
commonly drop them."""

from __future__ import annotations

_POLISH = """
    a aby ach acz aczkolwiek ale ależ aż bardziej bardzo bez bo bowiem by być był była było były
    będzie będą cali cała cały chce chcę ci cię ciebie co coś czy czyli daleko dla dlaczego dlatego
    do dobrze dokąd dość dziś dzisiaj gdy gdyż gdzie go i ich ile im inny iż ja jak jakiś jaki jakie
    jako je jeden jednak jego jej jest jestem jeszcze jeśli jesli jeżeli już juz ją każdy kiedy kto
    ktoś która które którego który ku lub ma mam mają mi mnie mną moi moja moje może mozna można
    mój mu my na nad nam nami nas nasz nasza nasze nawet nic nich nie niech niej nigdy nim niż no
    o obok od oraz on ona one oni ono po pod ponieważ poza proszę prosze przed przez przy sam sie
    się skąd są ta tak taki takie także tam te tego tej ten też tez to tobą tobie tu tutaj twoi
    twój ty tylko u w wam was wasz we więc wiec wszyscy wszystko wtedy wy z za zawsze ze że ze
    już mogę moge nam jakoś czemu teraz ciągle wciąż znowu
"""

_HUNGARIAN = """
    a az egy és es hogy nem is de meg már mar csak még meg mint mi mit ki be le el fel ha van
    vagy volt lesz ez ezt azt ott itt akkor aki ami amely amit amikor mert nagyon sem se pedig
    ő ők én te mi ti ön önök nekem neked neki nekünk velem vele rá ra ról rol től tol nál nal
    hoz hez höz ban ben ba be ból ből on en ön ig után utan alatt felett között kozott miatt
    szerint mindig soha most már ma még minden semmi valami senki kell lehet tud tudok sajnos
    kérem kerem kérlek köszönöm koszonom újra ujra megint
"""

_ENGLISH = """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can cannot could did do does doing down during each few for from
    further had has have having he her here hers him his how i if in into is it its itself just
    me more most my no nor not now of off on once only or other our ours out over own same she
    should so some such than that the their them then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would you
    your yours im i'm can't cant dont don't doesn't isn't still please today again really get got
"""

POLISH = frozenset(_POLISH.split())
HUNGARIAN = frozenset(_HUNGARIAN.split())
ENGLISH = frozenset(_ENGLISH.split())
ALL = POLISH | HUNGARIAN | ENGLISH
