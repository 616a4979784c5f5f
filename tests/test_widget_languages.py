"""The widget's other languages travel with the thread and the counts, not in /widget.js."""

from __future__ import annotations

import json

import pytest

from service import strings

from .conftest import ORIGIN

NEW_LANGUAGES = ("de", "es", "it", "pt", "nl")


@pytest.mark.parametrize("lang", NEW_LANGUAGES + ("fr",))
def test_thread_answer_carries_the_pages_language_table(reader, lang):
    reader.post("hello")
    body = reader.read(lang=lang).get_json()
    assert body["i18n"] == strings.tables()[lang]
    assert body["comments"][0]["html"] == "<p>hello</p>"


def test_regional_language_tags_get_the_languages_table(reader):
    assert reader.read(lang="pt-BR").get_json()["i18n"]["reply"] == "Responder"


@pytest.mark.parametrize("lang", ["en", "ja", "", "x" * 300])
def test_english_or_an_unknown_language_gets_no_table(reader, lang):
    assert "i18n" not in reader.read(lang=lang).get_json()


def test_each_language_has_its_own_etag_and_revalidates(reader):
    reader.post("hello")
    english = reader.read().headers["ETag"]
    german = reader.read(lang="de").headers["ETag"]
    assert german != english
    again = reader.client.get("/api/threads", query_string={"site": "blog", "url": f"{ORIGIN}/post", "lang": "de"},
                              headers={"Origin": ORIGIN, "If-None-Match": german})
    assert again.status_code == 304


def test_counts_carry_the_plural_forms_of_the_pages_language(reader):
    reader.post("one")
    body = reader.client.get("/api/counts", query_string={"site": "blog", "url": f"{ORIGIN}/post",
                                                          "lang": "nl"}).get_json()
    assert body == {"counts": {f"{ORIGIN}/post": 1}, "n": {"one": "{0} reactie", "other": "{0} reacties"}}


def test_english_counts_carry_no_plural_forms(reader):
    body = reader.client.get("/api/counts", query_string={"site": "blog", "lang": "en"}).get_json()
    assert body == {"counts": {}}


@pytest.mark.parametrize("lang", NEW_LANGUAGES)
def test_every_new_language_is_a_translation_not_a_copy_of_english(lang):
    english, table = strings.tables()["en"], strings.tables()[lang]
    same = [key for key in english if key != "n" and table[key] == english[key]]
    # A few words are the same in both (Name, Website, Markdown's hint in Dutch).
    assert len(same) <= 3, same
    assert json.dumps(table["n"]) != json.dumps(english["n"])
