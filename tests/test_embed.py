"""The server-rendered thread: GET /embed/thread and `causerie render`."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from service import embed
from service.extensions import db
from service.models import Comment

from .cli_support import assert_refused
from .conftest import ORIGIN, Reader, add_site

URL = f"{ORIGIN}/post"


def get(client, **params):
    query = {"site": "blog", "url": URL, **params}
    return client.get("/embed/thread", query_string=query, headers={"Origin": ORIGIN})


def set_fields(app, comment_id, **fields):
    with app.app_context():
        comment = db.session.get(Comment, comment_id)
        for name, value in fields.items():
            setattr(comment, name, value)
        db.session.commit()


class Items(HTMLParser):
    """The schema.org microdata items of a page: each item's type and its own properties."""

    def __init__(self):
        super().__init__()
        self.items: list[dict] = []
        self.stack: list[tuple[str, dict | None]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        owner = next((item for _, item in reversed(self.stack) if item is not None), None)
        item = None
        if "itemscope" in attrs:
            item = {"type": attrs.get("itemtype"), "props": {}, "children": []}
            self.items.append(item)
        if owner is not None and "itemprop" in attrs:
            value = item if item is not None else attrs.get("datetime") or attrs.get("href") or attrs.get("content")
            owner["props"].setdefault(attrs["itemprop"], []).append(value)
        if tag not in ("meta", "link", "br", "img", "hr"):
            self.stack.append((tag, item))

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break


def items(html: str) -> list[dict]:
    parser = Items()
    parser.feed(html)
    return parser.items


def test_fragment_is_html_with_each_approved_comment_and_its_permalink(reader, client):
    first = reader.post("Hello *there*").get_json()["comment"]["id"]
    reply = reader.post("A reply", parent_id=first).get_json()["comment"]["id"]
    response = get(client)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    html = response.get_data(as_text=True)
    assert f'id="comment-{first}"' in html and f'href="#comment-{first}"' in html
    assert f'id="comment-{reply}"' in html
    assert "<p>Hello <em>there</em></p>" in html
    assert "<h2>2 comments</h2>" in html


def test_fragment_serves_the_same_sanitized_html_as_the_api(reader, client):
    reader.post('<script>alert(1)</script> **bold** <a href="javascript:x">x</a>')
    api_html = reader.read().get_json()["comments"][0]["html"]
    html = get(client).get_data(as_text=True)
    assert api_html in html
    assert "<script>" not in html and 'href="javascript:' not in html


def test_fragment_escapes_names_and_websites(reader, client):
    reader.post("hi", author='<img src=x onerror=alert(1)>"\'', website="https://example.org/?a=1&b='\"")
    html = get(client).get_data(as_text=True)
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "onerror=alert(1)>" not in html


def test_replies_are_nested_under_their_parent_as_schema_org_comments(reader, client):
    first = reader.post("first").get_json()["comment"]["id"]
    reader.post("second")
    reader.post("reply", parent_id=first)
    found = items(get(client).get_data(as_text=True))
    comments = [item for item in found if item["type"] == "https://schema.org/Comment"]
    assert len(comments) == 3
    top = comments[0]
    assert [c["props"]["text"] for c in comments] and top["props"]["url"] == [f"#comment-{first}"]
    assert len(top["props"]["comment"]) == 1
    assert top["props"]["dateCreated"][0].endswith("Z")
    author = top["props"]["author"][0]
    assert author["type"] == "https://schema.org/Person"


def test_staff_and_pinned_comments_carry_their_marks(app, reader, client):
    comment_id = reader.post("official").get_json()["comment"]["id"]
    set_fields(app, comment_id, staff=True, pinned=True)
    html = get(client).get_data(as_text=True)
    assert '<strong class="causerie-badge">Staff</strong>' in html
    assert '<strong class="causerie-badge">Pinned</strong>' in html


def test_pending_comments_are_not_in_the_fragment(app, reader, client):
    comment_id = reader.post("held back").get_json()["comment"]["id"]
    set_fields(app, comment_id, status="pending")
    html = get(client).get_data(as_text=True)
    assert "held back" not in html
    assert "No comments yet." in html


def test_deep_replies_stay_at_the_widgets_depth_and_name_whom_they_answer(reader, client):
    parent = None
    for n in range(6):
        parent = reader.post(f"level {n}", author=f"Author{n}", parent_id=parent).get_json()["comment"]["id"]
    html = get(client).get_data(as_text=True)
    assert html.count("<ol") == 1 + embed.MAX_DEPTH
    assert "replying to Author3" in html and "replying to Author4" in html


def test_a_reply_chain_thousands_deep_renders(app, reader, client):
    first = reader.post("root").get_json()["comment"]["id"]
    with app.app_context():
        parent = db.session.get(Comment, first)
        for _ in range(3000):
            comment = Comment(site_id=parent.site_id, thread_id=parent.thread_id, parent_id=parent.id, text="x",
                              html="<p>x</p>", author="Deep", status="approved")
            db.session.add(comment)
            db.session.flush()
            parent = comment
        parent.thread.version += 1
        db.session.commit()
    response = get(client)
    assert response.status_code == 200
    assert response.get_data(as_text=True).count("itemscope itemtype=\"https://schema.org/Comment\"") == 3001


def test_newest_puts_the_latest_top_level_comment_first_and_keeps_replies_in_order(reader, client):
    first = reader.post("first").get_json()["comment"]["id"]
    second = reader.post("second").get_json()["comment"]["id"]
    reply_a = reader.post("reply a", parent_id=first).get_json()["comment"]["id"]
    reply_b = reader.post("reply b", parent_id=first).get_json()["comment"]["id"]
    html = get(client, sort="newest").get_data(as_text=True)
    order = [int(n) for n in re.findall(r'id="comment-(\d+)"', html)]
    assert order == [second, first, reply_a, reply_b]


def test_an_unknown_order_is_a_clear_400(client, site):
    response = get(client, sort="random")
    assert response.status_code == 400
    assert "oldest or newest" in response.get_data(as_text=True)


def test_the_fragment_speaks_the_pages_language(reader, client):
    reader.post("Hallo")
    reader.post("Nochmal")
    html = get(client, lang="de-AT").get_data(as_text=True)
    assert '<section class="causerie-thread" lang="de"' in html
    assert "<h2>2 Kommentare</h2>" in html
    table = json.loads(re.search(r"data-i18n='([^']*)'", html).group(1))
    assert table["reply"] == "Antworten"


def test_unchanged_fragment_answers_304_and_a_new_comment_changes_it(reader, client):
    reader.post("one")
    first = get(client)
    etag = first.headers["ETag"]
    again = client.get("/embed/thread", query_string={"site": "blog", "url": URL},
                       headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert get(client, lang="fr").headers["ETag"] != etag
    reader.post("two")
    assert get(client).headers["ETag"] != etag


def test_fragment_answers_the_sites_origin_with_cors(reader, client):
    response = get(client)
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    foreign = client.get("/embed/thread", query_string={"site": "blog", "url": URL},
                         headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in foreign.headers


@pytest.mark.parametrize(("params", "status"), [
    ({"site": "nope"}, 404),
    ({"url": "not a url"}, 400),
    ({"url": "https://elsewhere.example/post"}, 403),
])
def test_refusals_are_html_comments_with_their_status(client, site, params, status):
    response = get(client, **params)
    assert response.status_code == status
    assert response.mimetype == "text/html"
    text = response.get_data(as_text=True)
    assert text.startswith("<!-- Causerie: ") and text.rstrip().endswith("-->")


def test_render_command_prints_the_fragment(app, reader):
    reader.post("From the command line")
    result = app.test_cli_runner().invoke(args=["render", "--site", "blog", "--url", URL])
    assert result.exit_code == 0, result.output
    assert "From the command line" in result.output
    assert result.output.startswith('<section class="causerie-thread"')


def test_render_command_writes_a_file_in_the_chosen_language(app, reader, tmp_path):
    reader.post("Un commentaire")
    target = tmp_path / "comments.html"
    result = app.test_cli_runner().invoke(args=["render", "--site", "blog", "--url", URL, "--lang", "fr",
                                                "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert "<h2>1 commentaire</h2>" in target.read_text("utf-8")


def test_render_command_names_an_unknown_site(app):
    result = app.test_cli_runner().invoke(args=["render", "--site", "nope", "--url", URL])
    assert_refused(result, "No site is registered with this key.")


def test_render_command_finds_a_thread_by_its_key(app, client):
    add_site(app, "keyed", mode="post")
    Reader(client, "keyed").post("keyed comment", thread="article-7")
    result = app.test_cli_runner().invoke(args=["render", "--site", "keyed", "--thread", "article-7"])
    assert result.exit_code == 0, result.output
    assert "keyed comment" in result.output
