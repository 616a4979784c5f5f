"""The spam filter in the service: the auto mode, scores and reasons on comments,
teaching from every moderator decision (and only from moderators and imports),
undo, retraining, and a filter failure that never stops a post."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from service import spam
from service.choices import SpamVerdict, values_of
from service.extensions import db
from service.models import Comment, Site, SpamCount, SpamLesson
from service.moderation import actions
from service.spam import model
from tests.cli_support import assert_refused
from tests.conftest import ORIGIN, Reader, add_site
from tests.moderation_helpers import add_comment, get

SCAM = ("Printer offline? Call our printer support number +1-888-555-0147 now, 24/7 experts fix HP Canon "
        "Epson printers in minutes.")
GENUINE = "Your regex example misses an anchor: without ^ the pattern matches in the middle of the line."
REGEX_PAGE = f"{ORIGIN}/python-regex-tutorial"


def counts(app, key="blog") -> dict[str, tuple[int, int]]:
    """The site's learnt counts, feature -> (spam, ham), zero rows left out."""
    with app.app_context():
        site_id = db.session.scalar(sa.select(Site.id).where(Site.key == key))
        return {row.feature: (row.spam, row.ham) for row in db.session.scalars(
            sa.select(SpamCount).where(SpamCount.site_id == site_id)) if row.spam or row.ham}


def decide(app, comment_id, status):
    """A moderator's decision, as the queue's actions make it."""
    with app.app_context():
        comment = db.session.get(Comment, comment_id)
        actions.set_status(comment, status, None, actor="mod@example.org")
        db.session.commit()


def post(client, key, text, url=REGEX_PAGE, title="Regular expressions in Python", **fields):
    """A reader posts on ``key`` with an email of their own; returns the comment's row."""
    fields.setdefault("email", f"{abs(hash(text)) % 10**8}@mail.example")
    response = Reader(client, key).post(text=text, url=url, title=title, **fields)
    assert response.status_code == 201, response.get_json()
    return get(client.application, Comment, response.get_json()["comment"]["id"])


@pytest.fixture
def auto_site(app):
    """A site created with the default settings."""
    with app.app_context():
        db.session.add(Site(key="auto", name="Auto", origins=[ORIGIN]))
        db.session.commit()
    return "auto"


# --- the auto mode


def test_new_sites_start_in_auto_mode(app, auto_site):
    with app.app_context():
        assert db.session.scalar(sa.select(Site.mode).where(Site.key == auto_site)) == "auto"


def test_sites_add_defaults_to_auto(app):
    result = app.test_cli_runner().invoke(args=["sites", "add", "fresh", "--origin", ORIGIN])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(sa.select(Site.mode).where(Site.key == "fresh")) == "auto"


def test_auto_mode_publishes_a_genuine_comment_on_day_one(client, auto_site):
    comment = post(client, auto_site, GENUINE)
    assert comment.status == "approved"
    assert comment.spam_verdict == "publish" and comment.spam_score < spam.HOLD_AT


def test_auto_mode_files_a_scam_once_the_site_taught_a_few(app, client, auto_site):
    for number in range(3):
        scam = post(client, auto_site, SCAM.replace("0147", f"01{number}9"), author="Printer Support Number")
        decide(app, scam.id, "spam")
    comment = post(client, auto_site, "Epson printer not printing? Dial toll free 1 (877) 555 0199, our "
                   "printer support experts answer 24/7.", author="Printer Help Line")
    assert comment.status == "spam" and comment.spam_verdict == "spam"
    assert "spam_filter" in comment.reasons


def test_filed_comment_shows_its_score_and_reasons(app, client, auto_site):
    for number in range(3):
        decide(app, post(client, auto_site, SCAM.replace("0147", f"01{number}9")).id, "spam")
    comment = post(client, auto_site, "Canon printer offline? Call +1-888-555-0173 for printer support.")
    codes = [reason["code"] for reason in comment.spam_reasons]
    assert comment.spam_score >= spam.SPAM_AT
    assert "phone" in codes or "words" in codes


def test_auto_mode_holds_what_the_filter_doubts(app, client, auto_site, monkeypatch):
    monkeypatch.setattr(spam.filter, "HOLD_AT", 0.0)
    comment = post(client, auto_site, GENUINE)
    assert comment.status == "pending" and comment.reasons == ["spam_filter_doubts"]


def test_other_modes_keep_their_meaning_and_still_record_a_score(app, client):
    add_site(app, "held", mode="first-time")
    comment = post(client, "held", GENUINE)
    assert comment.status == "pending" and comment.reasons == ["first_time"]
    assert comment.spam_verdict == "publish"


def test_first_time_site_may_let_the_filter_publish_a_confident_first_timer(app, client, monkeypatch):
    add_site(app, "trusting", mode="first-time", spam_trust_first_time=True)
    monkeypatch.setattr(spam.filter, "TRUST_BELOW", 1.0)
    monkeypatch.setattr(spam, "TRUST_BELOW", 1.0)
    assert post(client, "trusting", GENUINE).status == "approved"


def test_first_time_site_without_the_setting_holds_a_confident_first_timer(app, client, monkeypatch):
    add_site(app, "careful", mode="first-time")
    monkeypatch.setattr(spam, "TRUST_BELOW", 1.0)
    assert post(client, "careful", GENUINE).status == "pending"


# --- bad input and failures


@pytest.mark.parametrize("text", ["🙂🙂🙂", "שלום עולם، مرحبا بالعالم", "Hello мир 世界 🌍", "x" * 10_000])
def test_awkward_texts_are_scored_in_the_write_path(client, auto_site, text):
    comment = post(client, auto_site, text)
    assert comment.spam_score is not None and comment.spam_verdict in values_of(SpamVerdict)


def test_a_scoring_failure_holds_the_comment_and_is_logged(client, auto_site, monkeypatch, caplog):
    def broken(*_args, **_kw):
        raise RuntimeError("boom")
    monkeypatch.setattr(model, "comment_features", broken)
    with caplog.at_level(logging.ERROR, logger="service.spam.filter"):
        comment = post(client, auto_site, GENUINE)
    assert comment.status == "pending" and comment.reasons == ["spam_filter_failed"]
    assert comment.spam_score is None
    assert "scoring failed" in caplog.text


def test_a_scoring_failure_in_post_mode_publishes(client, site, monkeypatch):
    monkeypatch.setattr(model, "comment_features", lambda *_a, **_k: 1 / 0)
    assert post(client, site, GENUINE).status == "approved"


# --- teaching


def test_approving_teaches_genuine(app, auto_site):
    comment_id = add_comment(app, auto_site, GENUINE)
    decide(app, comment_id, "approved")
    learnt = counts(app, auto_site)
    assert learnt[""] == (0, 1) and learnt["w:regex"] == (0, 1)


@pytest.mark.parametrize("status", ["spam", "rejected", "deleted"])
def test_spam_reject_and_delete_teach_spam(app, auto_site, status):
    decide(app, add_comment(app, auto_site, SCAM), status)
    learnt = counts(app, auto_site)
    assert learnt[""] == (1, 0) and learnt["phone"] == (1, 0)


def test_approving_a_spam_looking_comment_teaches_genuine(app, auto_site):
    decide(app, add_comment(app, auto_site, SCAM), "approved")
    assert counts(app, auto_site)["phone"] == (0, 1)


def test_rescuing_from_spam_moves_the_lesson(app, auto_site):
    comment_id = add_comment(app, auto_site, GENUINE)
    decide(app, comment_id, "spam")
    decide(app, comment_id, "approved")
    learnt = counts(app, auto_site)
    assert learnt[""] == (0, 1) and learnt["w:regex"] == (0, 1)


def test_sending_back_to_the_queue_takes_the_lesson_back(app, auto_site):
    comment_id = add_comment(app, auto_site, SCAM)
    decide(app, comment_id, "spam")
    decide(app, comment_id, "pending")
    assert counts(app, auto_site) == {}
    assert get(app, SpamLesson, comment_id) is None


def test_undo_in_the_queue_takes_the_lesson_back(app, admin, two_sites):
    comment_id = add_comment(app, "blog", SCAM)
    answer = admin.post(f"/moderate/comments/{comment_id}/spam", json=True).get_json()
    assert counts(app) and answer["undo"] == {str(comment_id): "requeue"}
    admin.post("/moderate/bulk", {"action": "requeue", "ids": [comment_id]}, json=True)
    assert counts(app) == {}


def test_bulk_actions_teach_each_comment(app, admin, two_sites):
    ids = [add_comment(app, "blog", f"{SCAM} ({n})") for n in range(3)]
    response = admin.post("/moderate/bulk", {"action": "spam", "ids": ids}, json=True)
    assert response.status_code == 200
    assert counts(app)[""] == (3, 0)


def test_a_rolled_back_decision_teaches_nothing(app, auto_site):
    comment_id = add_comment(app, auto_site, SCAM)
    with app.app_context():
        actions.set_status(db.session.get(Comment, comment_id), "spam", None, actor="mod")
        db.session.rollback()
    assert counts(app, auto_site) == {}


def test_readers_cannot_teach(app, client, auto_site):
    reader = Reader(client, auto_site)
    created = reader.post(text=SCAM, url=REGEX_PAGE, email="me@mail.example").get_json()
    reader.patch(created["comment"]["id"], created["edit_token"], text=GENUINE)
    reader.report(created["comment"]["id"])
    reader.delete(created["comment"]["id"], created["edit_token"])
    assert counts(app, auto_site) == {}


def test_each_site_learns_alone(app, two_sites):
    decide(app, add_comment(app, "blog", SCAM), "spam")
    assert counts(app, "other") == {}


# --- retraining


def test_retrain_rebuilds_the_counts_the_decisions_made(app, auto_site):
    for text, status in ((SCAM, "spam"), (GENUINE, "approved"), ("Off topic rant", "rejected")):
        decide(app, add_comment(app, auto_site, text), status)
    add_comment(app, auto_site, "Still waiting", status="pending")
    add_comment(app, auto_site, "Published by the filter", status="approved")
    before = counts(app, auto_site)
    result = app.test_cli_runner().invoke(args=["spam", "retrain", "--site", auto_site])
    assert result.exit_code == 0, result.output
    assert "2 spam and 1 genuine" in result.output
    # The page and the commenter are looked at as they are now, so only what
    # the comments themselves say is sure to come back the same.
    own = lambda learnt: {k: v for k, v in learnt.items() if k.startswith(("w:", "a:", "phone", "link"))}  # noqa: E731
    after = counts(app, auto_site)
    assert after[""] == before[""] == (2, 1) and own(after) == own(before)


def test_retrain_is_idempotent(app, auto_site):
    decide(app, add_comment(app, auto_site, SCAM), "spam")
    runner = app.test_cli_runner()
    runner.invoke(args=["spam", "retrain", "--site", auto_site])
    once = counts(app, auto_site)
    runner.invoke(args=["spam", "retrain", "--site", auto_site])
    assert counts(app, auto_site) == once and once[""] == (1, 0)


def test_retrain_repairs_damaged_counts(app, auto_site):
    decide(app, add_comment(app, auto_site, SCAM), "spam")
    good = counts(app, auto_site)
    with app.app_context():
        db.session.execute(sa.update(SpamCount).values(spam=SpamCount.spam + 7))
        db.session.commit()
    app.test_cli_runner().invoke(args=["spam", "retrain", "--site", auto_site])
    assert counts(app, auto_site) == good


def test_retrain_of_an_unknown_site_says_so(app):
    result = app.test_cli_runner().invoke(args=["spam", "retrain", "--site", "nope"])
    assert_refused(result, "No site with the key 'nope'.")


# --- imports


def lessons(app) -> dict[str, str]:
    """import_ref -> the label each imported comment taught."""
    with app.app_context():
        return dict(db.session.execute(sa.select(Comment.import_ref, SpamLesson.label)
                                       .join(SpamLesson, SpamLesson.comment_id == Comment.id)).all())


def test_disqus_import_teaches_approved_as_genuine_and_is_spam_as_spam(app, site):
    from tests.porting_support import DATA, cli
    assert cli(app, "import", "disqus", DATA / "disqus.xml", "--site", site).exit_code == 0
    taught = lessons(app)
    assert taught["disqus:301"] == "ham" and taught["disqus:303"] == "spam"
    assert "disqus:304" not in taught and "disqus:305" not in taught  # deleted and unapproved teach nothing
    assert counts(app)[""] == (sum(v == "spam" for v in taught.values()), sum(v == "ham" for v in taught.values()))


def test_wordpress_import_teaches_its_spam(app, site):
    from tests.porting_support import DATA, cli
    assert cli(app, "import", "wordpress", DATA / "wordpress.xml", "--site", site).exit_code == 0
    assert "spam" in lessons(app).values()


def test_importing_twice_teaches_once(app, site):
    from tests.porting_support import DATA, cli
    cli(app, "import", "disqus", DATA / "disqus.xml", "--site", site)
    once = counts(app)
    cli(app, "import", "disqus", DATA / "disqus.xml", "--site", site)
    assert counts(app) == once


def test_retrain_keeps_what_imports_taught(app, site):
    from tests.porting_support import DATA, cli
    cli(app, "import", "disqus", DATA / "disqus.xml", "--site", site)
    totals = counts(app)[""]
    app.test_cli_runner().invoke(args=["spam", "retrain", "--site", site])
    assert counts(app)[""] == totals


def test_erasing_a_person_drops_what_their_comments_taught_record_by_record(app, auto_site):
    from service import privacy
    comment_id = add_comment(app, auto_site, SCAM, email="gone@mail.example", website="https://gone.example.org")
    decide(app, comment_id, "spam")
    with app.app_context():
        privacy.erase("gone@mail.example", "keep-text")
    assert get(app, SpamLesson, comment_id) is None
    assert counts(app, auto_site)[""] == (1, 0)  # the site's totals keep no link to the person


def test_undoing_a_spam_mark_on_a_published_comment_teaches_nothing(app, auto_site):
    comment_id = add_comment(app, auto_site, SCAM, status="approved")  # the filter published it
    decide(app, comment_id, "spam")
    decide(app, comment_id, "approved")  # the queue's Undo
    assert counts(app, auto_site) == {}


def test_undoing_a_rescue_teaches_nothing(app, auto_site):
    comment_id = add_comment(app, auto_site, GENUINE, status="spam")  # the filter filed it
    decide(app, comment_id, "approved")
    decide(app, comment_id, "spam")
    assert counts(app, auto_site) == {}


def test_undoing_a_change_of_mind_restores_the_first_lesson(app, auto_site):
    comment_id = add_comment(app, auto_site, GENUINE)
    decide(app, comment_id, "approved")
    decide(app, comment_id, "spam")
    decide(app, comment_id, "approved")
    assert counts(app, auto_site)[""] == (0, 1)


def test_reasons_name_the_strongest_spam_clues_in_order():
    clues = [model.Clue("link:spam.example", 0.99, 4, 0), model.Clue("phone", 0.97, 3, 0),
             model.Clue("w:regex", 0.02, 0, 9), model.Clue("w:printer", 0.95, 5, 0),
             model.Clue("w:support", 0.94, 5, 0), model.Clue("topic:none", 0.9, 8, 1),
             model.Clue("shouting", 0.85, 2, 0)]
    found = spam.filter.reasons(clues, {"link:spam.example": (4, 0)})
    assert found == [{"code": "link_domain", "domain": "spam.example", "spam": 4}, {"code": "phone"},
                     {"code": "words", "words": ["printer", "support"]}]


def test_verdicts_follow_the_thresholds():
    assert [spam.filter.verdict_of(s) for s in (0.0, spam.HOLD_AT - 0.01, spam.HOLD_AT, spam.SPAM_AT, 1.0)] == \
        ["publish", "publish", "hold", "spam", "spam"]


@pytest.mark.parametrize("app_settings", [{"CAUSERIE_METRICS_TOKEN": "scrape-me-0123456789"}])
def test_each_verdict_is_counted_in_the_metrics(client, auto_site):
    post(client, auto_site, GENUINE)
    scrape = client.get("/metrics", headers={"Authorization": "Bearer scrape-me-0123456789"}).get_data(as_text=True)
    assert 'causerie_spam_decisions_total{decision="publish"} 1.0' in scrape


def test_an_edit_on_an_auto_site_is_judged_by_the_filter_and_stays_published(app, client, auto_site):
    reader = Reader(client, auto_site)
    created = reader.post(text=GENUINE, url=REGEX_PAGE, title="Regular expressions in Python").get_json()
    assert created["status"] == "approved"
    edited = GENUINE + " The same goes for $ at the end."
    assert reader.patch(created["comment"]["id"], created["edit_token"], text=edited).status_code == 200
    comment = get(app, Comment, created["comment"]["id"])
    assert comment.status == "approved" and comment.spam_verdict == "publish"


def test_an_edit_into_spam_on_an_auto_site_leaves_readers(app, client, auto_site, monkeypatch):
    reader = Reader(client, auto_site)
    created = reader.post(text=GENUINE, url=REGEX_PAGE, title="Regular expressions in Python").get_json()
    monkeypatch.setattr(spam.filter, "SPAM_AT", 0.0)
    monkeypatch.setattr(spam.filter, "HOLD_AT", 0.0)
    reader.patch(created["comment"]["id"], created["edit_token"], text=SCAM)
    comment = get(app, Comment, created["comment"]["id"])
    assert comment.status == "spam" and "spam_filter" in comment.reasons
