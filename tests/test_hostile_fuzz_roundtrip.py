"""Property-based fuzzing of a comment's whole life: post, read, thread, edit, delete.

Where ``test_openapi_fuzz.py`` checks each operation against the document
(and most of its cases are refused early), this generates comments that
are mostly valid (any Unicode text, names, page paths and websites) so the
deep paths run: URL normalisation and storage, rendering, the rules, the
edit and delete paths.  Every answer must be the one the contract gives,
never a 5xx, and what was accepted must come back as it was stored.
"""

from __future__ import annotations

import itertools
import unicodedata
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service import sanitize

from .conftest import ORIGIN, add_site

EXAMPLES = {"sqlite": 150, "postgresql": 60}
_addresses = (f"10.99.{n // 250 % 250}.{n % 250 + 1}" for n in itertools.count())

# Mostly what a person could type (any character but surrogates and control characters,
# line breaks and tabs included), and now and then anything at all.
anything = st.characters(exclude_categories=("Cs",))
typed = st.one_of(st.characters(exclude_categories=("Cs", "Cc")), st.sampled_from("\n\t\r"))
texts = st.one_of(st.text(typed, min_size=1, max_size=400), st.text(typed, min_size=1, max_size=40),
                  st.text(typed, min_size=1, max_size=400), st.text(anything, max_size=60))
names = st.one_of(st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=60),
                  st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=20),
                  st.text(anything, max_size=90))
paths = st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=600)
websites = st.one_of(st.none(), st.text(anything, max_size=80),
                     st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=120)
                     .map(lambda s: f"https://example.org/{s}"))


def bad_controls(value: str, allowed: str = "") -> bool:
    return any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in value)


def expected_problems(text: str, author: str) -> set[str]:
    problems = set()
    if not text.strip() or bad_controls(text, "\t\n\r") or len(text.replace("\r\n", "\n")) > 10_000:
        problems.add("text")
    if not author.strip() or bad_controls(author) or len(author.strip()) > 80:
        problems.add("author")
    return problems


@pytest.fixture
def examples(database_url):
    return EXAMPLES["sqlite" if database_url.startswith("sqlite") else "postgresql"]


@pytest.mark.slow
def test_generated_comments_live_and_die_as_the_contract_says(app, client, examples):
    add_site(app, "blog", mode="post")
    counts = {"cases": 0, "posted": 0, "refused": 0}

    def call(method, path, body=None, token=None, ip=None):
        headers = {"Origin": ORIGIN, **({"Authorization": f"Bearer {token}"} if token else {})}
        response = client.open(path, method=method, json=body, headers=headers,
                               environ_base={"REMOTE_ADDR": ip or next(_addresses)})
        assert response.status_code < 500, (method, path, body, response.get_data(as_text=True))
        return response

    @given(text=texts, author=names, path=paths, website=websites, new_text=texts)
    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def life(text, author, path, website, new_text):
        counts["cases"] += 1
        ip = next(_addresses)
        url = f"{ORIGIN}/{path}"
        thread = call("GET", "/api/threads?" + _query(url), ip=ip)
        assert thread.status_code in (200, 400), (url, thread.status_code)
        ticket = thread.headers.get("Causerie-Ticket")
        body = {"site": "blog", "url": url, "author": author, "text": text, "website": website, "ticket": ticket}
        posted = call("POST", "/api/comments", {k: v for k, v in body.items() if v is not None}, ip=ip)
        problems = expected_problems(text, author)
        if posted.status_code != 201:
            counts["refused"] += 1
            assert posted.status_code == 400, (body, posted.get_data(as_text=True))
            fields = set(posted.get_json()["error"]["fields"])
            assert problems <= fields and fields - problems <= {"url", "website"}, (body, fields)
            assert thread.status_code == 400 or fields != {"url"}, (body, fields)
            return
        counts["posted"] += 1
        assert problems == set(), body
        answer = posted.get_json()
        cid, token = answer["comment"]["id"], answer["edit_token"]
        stored_text = text.replace("\r\n", "\n")
        own = call("GET", f"/api/comments/{cid}", token=token, ip=ip).get_json()["comment"]
        assert own["author"] == author.strip()
        assert own["html"] == sanitize.render(stored_text)
        assert own["website"] == (website.strip() if website else None)
        if own["status"] == "approved":
            # The page's URL, read back as given, finds the very thread the comment went into.
            ids = [c["id"] for c in call("GET", "/api/threads?" + _query(url), ip=ip).get_json()["comments"]]
            assert cid in ids, url
        if own["status"] in ("approved", "pending"):
            edited = call("PATCH", f"/api/comments/{cid}", {"text": new_text}, token=token, ip=ip)
            if "text" in expected_problems(new_text, "x"):
                assert edited.status_code == 400
            else:
                assert edited.status_code == 200, edited.get_data(as_text=True)
                assert edited.get_json()["comment"]["html"] == sanitize.render(new_text.replace("\r\n", "\n"))
            assert call("DELETE", f"/api/comments/{cid}", token=token, ip=ip).status_code == 204
            assert call("GET", f"/api/comments/{cid}", token=token, ip=ip).get_json()["status"] == "rejected"

    life()
    print(f"\nfuzzed lives: {counts['cases']} cases, {counts['posted']} posted, {counts['refused']} refused, "
          "0 server errors")
    assert counts["posted"] > counts["cases"] // 4


def _query(url: str) -> str:
    return urlencode({"site": "blog", "url": url})
