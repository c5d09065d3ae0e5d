"""What brand replies did, how threads close, and the social-care mistakes, in pl, hu and en."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.augment import strip_diacritics
from models.threads.replies import (
    ReplyAction,
    ReplyMistake,
    closes_thread,
    customer_thanks,
    reply_actions,
    reply_mistakes,
)

A = ReplyAction.APOLOGISED
S = ReplyAction.OFFERED_SOLUTION
P = ReplyAction.MOVED_TO_PRIVATE
H = ReplyAction.HOTLINE_REDIRECT

REPLIES = [
    # English
    ("en", "We're so sorry about this! Please DM us your order number.", {A, P}),
    ("en", "Apologies for the delay. We have sent a new one today.", {A, S}),
    ("en", "The refund has been issued and should reach your account in 3-5 days.", {S}),
    ("en", "Sorry to hear that. Please call our hotline on 0800 123 456.", {A, H}),
    ("en", "Hi Anna, could you send us a private message with your details?", {P}),
    ("en", "Please contact our customer service team, they will help you.", {H}),
    ("en", "Please email us at help@freshcart.com and we'll look into it.", {H}),
    ("en", "We apologise. We will send you a replacement free of charge.", {A, S}),
    ("en", "Here is a voucher for 20% off your next order.", {S}),
    ("en", "OUR SINCERE APOLOGIES, WE'VE FIXED THE BUG IN THE APP.", {A, S}),
    ("en", "Unfortunately we are not able to refund this order.", set()),
    ("en", "We cannot refund the order, but we can offer a voucher.", {S}),
    ("en", "Sorry, we can't offer a replacement for items bought on sale.", {A}),
    ("en", "Thanks for reaching out! Drop us a DM and we'll check it.", {P}),
    ("en", "Give us a call on +44 20 7946 0958, we're happy to help.", {H}),
    ("en", "Don't worry, we'll send you a new one straight away.", {S}),
    # Polish
    ("pl", "Przepraszamy za niedogodności, napisz do nas na priv.", {A, P}),
    ("pl", "Przepraszam, zwrot środków został już zlecony.", {A, S}),
    ("pl", "przepraszamy, wyslalismy juz nowa paczke", {A, S}),
    ("pl", "Prosimy, zadzwoń na infolinię 801 123 456.", {H}),
    ("pl", "Zapraszamy do kontaktu z Biurem Obsługi Klienta.", {H}),
    ("pl", "Napisz do nas na adres kontakt@sklep.pl, sprawdzimy to.", {H}),
    ("pl", "Prosimy o wiadomość prywatną z numerem zamówienia.", {P}),
    ("pl", "Niestety nie możemy zwrócić pieniędzy za ten produkt.", set()),
    ("pl", "Nie możemy zwrócić pieniędzy, ale możemy zaproponować bon rabatowy.", {S}),
    ("pl", "PRZYKRO NAM, WYMIENIMY TELEFON NA NOWY.", {A, S}),
    ("pl", "Naprawiliśmy już błąd w aplikacji, przepraszamy.", {A, S}),
    ("pl", "Prosimy zwrócić się do naszego działu reklamacji przez PW.", {P}),
    ("pl", "Skontaktuj się z nami telefonicznie, chętnie pomożemy.", {H}),
    ("pl", "Napiszcie do nas na Messengerze, wyjaśnimy to.", {P}),
    # Hungarian
    ("hu", "Elnézést kérünk, kérjük írj nekünk privátban!", {A, P}),
    ("hu", "Sajnáljuk, a visszatérítést már elindítottuk.", {A, S}),
    ("hu", "sajnaljuk, hivja ugyfelszolgalatunkat a +36 1 234 5678 szamon", {A, H}),
    ("hu", "Kérjük, írj nekünk üzenetben a rendelésszámmal.", {P}),
    ("hu", "Elnézést, kicseréljük a terméket egy újra.", {A, S}),
    ("hu", "Kérjük, forduljon ügyfélszolgálatunkhoz a 06-80-123-456 telefonszámon.", {H}),
    ("hu", "Írjon nekünk e-mailt az info@bolt.hu címre.", {H}),
    ("hu", "Sajnos nem tudjuk visszatéríteni a vételárat.", set()),
    ("hu", "Bocsánat a hibáért, küldünk egy kupont kárpótlásul.", {A, S}),
    ("hu", "ELNEZEST, A HIBAT MAR KIJAVITOTTUK.", {A, S}),
    ("hu", "Kérjük, vegye fel velünk a kapcsolatot Messengeren.", {P}),
    ("hu", "Újraküldjük a csomagot, holnap megérkezik.", {S}),
]


@pytest.mark.parametrize(("lang", "text", "expected"), REPLIES)
def test_reply_actions(lang: str, text: str, expected: set[ReplyAction]) -> None:
    assert reply_actions(text, lang) == frozenset(expected)


@pytest.mark.parametrize(("lang", "text", "expected"), REPLIES)
def test_actions_do_not_depend_on_diacritics_or_case(
    lang: str, text: str, expected: set[ReplyAction]
) -> None:
    assert reply_actions(strip_diacritics(text).upper(), lang) == frozenset(expected)


def test_each_language_covers_every_action() -> None:
    for lang in ("en", "pl", "hu"):
        covered = set().union(*(expected for code, _, expected in REPLIES if code == lang))
        assert covered == set(ReplyAction)
        assert sum(code == lang for code, _, _ in REPLIES) >= 12


def test_unknown_language_applies_every_rule() -> None:
    assert reply_actions("Przepraszamy, napisz na priv", "xx") == {A, P}
    assert reply_actions("Sajnáljuk, a visszatérítést elindítottuk", "de") == {A, S}
    assert reply_actions("Przepraszamy", "en") == frozenset()
    assert reply_actions("Sorry, DM us", "EN-gb") == {A, P}


@pytest.mark.parametrize(
    "text",
    [
        "Your order 12345678 is on its way.",
        "We are open 8.00-20.00, Monday to Friday.",
        "The parcel was sent on 2024-05-01.",
        "The sofa costs 1 299 999 Ft.",
        "Ticket #4452 1234 9876 is updated.",
    ],
)
def test_numbers_that_are_not_phone_numbers(text: str) -> None:
    assert H not in reply_actions(text, "en")


@pytest.mark.parametrize("lang", ["en", "pl", "hu", "??"])
def test_empty_text_does_nothing(lang: str) -> None:
    assert reply_actions("", lang) == frozenset()
    assert not closes_thread("", lang)
    assert not customer_thanks("", lang)


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("en", "The refund has been completed, case closed.", True),
        ("en", "Glad we could help! Have a great day.", True),
        ("en", "Your issue has been resolved, enjoy your weekend.", True),
        ("en", "Let us know if the issue is resolved.", False),
        ("en", "The issue has not been resolved yet, we're on it.", False),
        ("en", "Has the problem been resolved?", False),
        ("pl", "Cieszymy się, że mogliśmy pomóc!", True),
        ("pl", "Sprawa została rozwiązana, dziękujemy za cierpliwość.", True),
        ("pl", "cieszymy sie, ze udalo sie pomoc", True),
        ("pl", "Sprawa nie została jeszcze rozwiązana.", False),
        ("pl", "Czy sprawa została rozwiązana?", False),
        ("hu", "Örülünk, hogy segíthettünk!", True),
        ("hu", "orulunk, hogy segithettunk", True),
        ("hu", "Az ügyét lezártuk, köszönjük a türelmét.", True),
        ("hu", "A problémát még nem sikerült megoldani.", False),
        ("hu", "Örülnénk, ha segíthetnénk.", False),
    ],
)
def test_closes_thread(lang: str, text: str, expected: bool) -> None:
    assert closes_thread(text, lang) is expected


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("en", "Thanks, got it now!", True),
        ("en", "thank you so much, all sorted", True),
        ("en", "Thanks for nothing.", False),
        ("en", "thanks, still waiting", False),
        ("en", "Thanks but it still doesn't work", False),
        ("en", "Thanks in advance for your help", False),
        ("en", "Thanks, when will it arrive?", False),
        ("pl", "Dzięki, już działa!", True),
        ("pl", "dziekuje, paczka dotarla", True),
        ("pl", "Dzięki za nic.", False),
        ("pl", "Dzięki, ale nadal nie działa", False),
        ("pl", "Z góry dziękuję za pomoc", False),
        ("pl", "Dziękuję, wciąż czekam na zwrot", False),
        ("hu", "Köszönöm, megjött!", True),
        ("hu", "koszi, minden rendben", True),
        ("hu", "Köszi a semmit.", False),
        ("hu", "Előre is köszönöm a segítséget!", False),
        ("hu", "Köszönöm, de még mindig nem működik", False),
        ("hu", "Köszönöm, még nem jött meg a csomag", False),
    ],
)
def test_customer_thanks(lang: str, text: str, expected: bool) -> None:
    assert customer_thanks(text, lang) is expected
    assert customer_thanks(strip_diacritics(text).upper(), "xx") is expected


def test_no_thanks_word_is_not_thanks() -> None:
    assert not customer_thanks("got it now, works", "en")


def test_hotline_redirect_is_a_mistake_in_any_thread() -> None:
    for public in (True, False):
        assert ReplyMistake.HOTLINE_REDIRECT in reply_mistakes(public, [frozenset({A}), frozenset({A, H})])
    assert reply_mistakes(True, [frozenset({A, S})]) == frozenset()


def test_private_only_needs_a_public_thread_and_only_private_moves() -> None:
    only_private = [frozenset({P}), frozenset({A, P})]
    assert reply_mistakes(True, only_private) == {ReplyMistake.PRIVATE_ONLY}
    assert reply_mistakes(False, only_private) == frozenset()
    assert reply_mistakes(True, []) == frozenset()
    assert reply_mistakes(True, [*only_private, frozenset({A, S})]) == frozenset()
    assert reply_mistakes(True, [frozenset({P, S})]) == frozenset()
    assert reply_mistakes(True, [frozenset({P, H})]) == {ReplyMistake.HOTLINE_REDIRECT}
    assert reply_mistakes(True, [frozenset({A})]) == frozenset()


def test_mistakes_from_reply_texts() -> None:
    replies = [reply_actions("Sorry! Please DM us.", "en"), reply_actions("Sent you a DM", "en")]
    assert reply_mistakes(True, replies) == {ReplyMistake.PRIVATE_ONLY}


@given(st.text(), st.sampled_from(["en", "pl", "hu", "", "xx", "PL-pl"]))
def test_arbitrary_text_never_raises(text: str, lang: str) -> None:
    actions = reply_actions(text, lang)
    assert isinstance(actions, frozenset)
    assert all(isinstance(action, ReplyAction) for action in actions)
    assert isinstance(closes_thread(text, lang), bool)
    assert isinstance(customer_thanks(text, lang), bool)


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300), st.text(max_size=8))
def test_arbitrary_text_and_language_code(text: str, lang: str) -> None:
    assert reply_actions(text, lang) <= frozenset(ReplyAction)


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("pl", "Pozdrawiamy, Zespół Obsługi Klienta"),
        ("hu", "Üdvözlettel: XY Ügyfélszolgálat"),
        ("en", "We will call you tomorrow."),
        ("pl", "Odpowiemy zwrotnie jak najszybciej."),
        ("hu", "Köszönjük üzenetét!"),
    ],
)
def test_signatures_and_courtesies_are_no_actions(lang: str, text: str) -> None:
    assert reply_actions(text, lang) == frozenset()
