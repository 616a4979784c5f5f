"""The spam filter's tokenising and maths, against hand-worked examples."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from service.limits import MAX_SPAM_FEATURE
from service.spam import model
from service.spam.model import Context

DATA = Path(__file__).parent / "data"


# --- the maths


def test_one_clue_scores_its_own_probability():
    # S = 1 - chi2Q(-2 ln 0.1, 2) = 1 - 0.1 = 0.9; H = 1 - chi2Q(-2 ln 0.9, 2) = 0.1; (0.9 - 0.1 + 1) / 2 = 0.9
    assert model.combine([0.9]) == pytest.approx(0.9)


def test_no_clue_scores_one_half():
    assert model.combine([]) == 0.5


def test_opposite_clues_cancel_out():
    assert model.combine([0.9, 0.1]) == pytest.approx(0.5)


def test_two_spam_clues_score_higher_than_one():
    # S = 1 - chi2Q(-2 ln 0.01, 4) = 1 - 0.01 (1 + ln 100) = 0.94395;
    # H = 1 - chi2Q(-2 ln 0.81, 4) = 1 - 0.81 (1 - ln 0.81) = 0.01931; score = 0.96232
    assert model.combine([0.9, 0.9]) == pytest.approx(0.96232, abs=1e-5)


def test_chi2q_with_two_degrees_of_freedom_is_an_exponential():
    assert model.chi2q(4.0, 2) == pytest.approx(math.exp(-2.0))


def test_hundreds_of_clues_do_not_underflow():
    assert model.combine([0.99] * 400) == pytest.approx(1.0)
    assert model.combine([0.01] * 400) == pytest.approx(0.0)


def test_probability_weighs_each_class_by_its_size():
    # seen in 2 of 4 spam and 1 of 8 genuine: p = 0.5 / (0.5 + 0.125) = 0.8;
    # f = (0.45 * 0.5 + 3 * 0.8) / (0.45 + 3) = 0.76087
    assert model.probability(2, 1, 4, 8) == pytest.approx(0.76087, abs=1e-5)


def test_unseen_feature_has_the_unknown_probability():
    assert model.probability(0, 0, 10, 10) == model.UNKNOWN_PROB


def test_score_keeps_only_clues_that_say_something():
    counts = {"w:printer": (9, 0), "w:regex": (0, 9), "w:the": (5, 5)}
    result = model.score({"w:printer", "w:regex", "w:the"}, counts, 10, 10)
    assert [clue.feature for clue in result.clues] == ["w:printer", "w:regex"]


# --- the features


def test_words_are_lower_cased_letters_first():
    assert model.words("Regex 3 times: Python's re.sub!") == ["regex", "times", "python's", "re", "sub"]


def test_function_words_are_not_features():
    assert "w:the" not in model.features("the regex")


def test_link_domains_are_features():
    found = model.features("See https://www.shop.example.co.uk/buy and cheap-pills.example.com now")
    assert {"link:example.co.uk", "link:example.com", "links:<4"} <= found


def test_html_anchor_is_a_feature():
    assert "link:anchor" in model.features('<a href="https://x.example.com">best dentist</a>')


@pytest.mark.parametrize("text", ["Call +1-888-555-0147 now", "dial 1 (877) 555 0199", "1.800.555.0123 toll free"])
def test_phone_numbers_are_found(text):
    assert {"phone", "phone:toll-free"} <= model.features(text)


@pytest.mark.parametrize("text", ["listen on 192.168.100.200", "released 2024-01-15", "version 3.12.1",
                                  "commit 1234567"])
def test_addresses_dates_and_versions_are_not_phone_numbers(text):
    assert "phone" not in model.features(text)


def test_email_address_in_the_text_is_a_feature():
    assert "email-in-text" in model.features("write to fix.helpdesk@gmail.com")


def test_a_name_repeated_in_the_text_is_a_feature():
    found = model.features("Call our printer support number today", author="Printer Support Number")
    assert {"name:in-text", "name:<4", "a:printer", "a:support"} <= found


def test_a_website_on_a_first_comment_is_a_feature():
    assert "website:first-comment" in model.features("hello there", website="https://shop.example.com")
    known = model.features("hello there", website="https://me.example.com", context=Context(known_commenter=True))
    assert "website:first-comment" not in known and "web:example.com" in known


def test_a_comment_sharing_no_word_with_its_page_is_off_topic():
    page = Context(title="Regular expressions in Python", url="https://blog.example/python-regex")
    assert "topic:none" in model.features("Fix your printer offline error with our experts", context=page)
    assert "topic:none" not in model.features("Your python regex example misses an anchor", context=page)


def test_approved_comments_of_the_thread_count_as_its_topic():
    page = Context(title="A tutorial", thread_texts=("lookahead assertions are confusing",))
    assert "topic:high" in model.features("Lookahead assertions confused me too, thanks", context=page)


def test_a_script_unlike_the_page_is_a_feature():
    page = Context(title="Regular expressions in Python")
    assert {"script:cyrillic", "script:foreign"} <= model.features("Купить дешёвые часы здесь", context=page)
    assert "script:foreign" not in model.features("Merci pour cet article", context=page)


def test_shouting_is_a_feature():
    assert "shouting" in model.features("BEST PRICES ON EARTH CLICK NOW")
    assert "shouting" not in model.features("I use the GNU C compiler")


@pytest.mark.parametrize("text", ["", "🙂🙂🙂", "x" * 200_000, "שלום עולם، مرحبا بالعالم", "Hello мир 世界 🌍",
                                  "\u202etxet desrever", "\x00\x01"])
def test_awkward_texts_score_without_error(text):
    found = model.features(text, author="🙂", website="https://[::1", context=Context(title="Titre"))
    assert 0.0 <= model.score(found, {}, 0, 0).value <= 1.0


def test_naughty_strings_score_without_error():
    for text in json.loads((DATA / "naughty_strings.json").read_text(encoding="utf-8")):
        found = model.features(text, author=text[:100], website=None, context=Context(title=text[:300]))
        assert 0.0 <= model.score(found, dict.fromkeys(found, (1, 2)), 3, 3).value <= 1.0


def test_features_fit_their_column():
    found = model.features("https://" + "a" * 300 + ".example.com " + "b" * 300, author="c" * 300)
    assert max(map(len, found)) <= MAX_SPAM_FEATURE


def test_the_page_and_the_commenter_change_only_the_context_features():
    text, author, website = "Call +1-888-555-0147, see https://x.example.com", "Printer Help", "https://p.example.org"
    bare = model.features(text, author, website, Context())
    rich = model.features(text, author, website, Context(title="Регулярные выражения", thread_texts=("call me",),
                                                          known_commenter=True, has_email=True, is_reply=True))
    assert bare ^ rich <= model.CONTEXT_FEATURES


@pytest.mark.parametrize("context", [
    Context(),
    Context(title="Regular expressions", thread_texts=("Lookahead is hard",), has_email=True, is_reply=True),
    Context(title="Регулярные выражения", known_commenter=True, has_email=True),
])
def test_the_filter_asks_for_every_context_feature_before_it_knows_the_context(context):
    # judge() looks up the counts of CONTEXT_FEATURES before the page is known.
    found = model.context_features("Lookahead? Call https://x.example.com now", "https://p.example.org", context)
    assert found <= model.CONTEXT_FEATURES
