"""Every moderation action through the web, with its audit event and notifications."""

from __future__ import annotations

import sqlalchemy as sa

from service.extensions import db
from service.models import Ban, Comment, ModerationEvent, Outbox, Report, Site, Thread
from service.moderation import actions
from tests.conftest import Reader
from tests.moderation_helpers import add_comment, get


def events(app, comment_id):
    """(action, from, to, actor) of a comment's audit events, oldest first."""
    with app.app_context():
        return [(e.action, e.from_status, e.to_status, e.actor) for e in db.session.scalars(
            sa.select(ModerationEvent).where(ModerationEvent.comment_id == comment_id).order_by(ModerationEvent.id))]


def outbox(app):
    """(topic, payload) of every queued notification."""
    with app.app_context():
        return [(o.topic, o.payload) for o in db.session.scalars(sa.select(Outbox).order_by(Outbox.id))]


def set_webhook(app, key="blog"):
    with app.app_context():
        db.session.scalar(sa.select(Site).where(Site.key == key)).webhook_url = "http://127.0.0.1:9/hook"
        db.session.commit()


def test_approve_publishes_and_records_who_did_it(app, mod):
    comment_id = add_comment(app, "blog")
    response = mod.post(f"/moderate/comments/{comment_id}/approve")
    assert response.status_code == 303
    comment = get(app, Comment, comment_id)
    assert comment.status == "approved" and comment.moderated_at is not None
    assert events(app, comment_id) == [("approve", "pending", "approved", "mod@example.org")]


def test_reject_records_from_and_to_status(app, mod):
    comment_id = add_comment(app, "blog", status="approved")
    mod.post(f"/moderate/comments/{comment_id}/reject")
    assert get(app, Comment, comment_id).status == "rejected"
    assert events(app, comment_id) == [("reject", "approved", "rejected", "mod@example.org")]


def test_spam_marks_the_comment_as_spam(app, mod):
    comment_id = add_comment(app, "blog")
    mod.post(f"/moderate/comments/{comment_id}/spam")
    assert get(app, Comment, comment_id).status == "spam"


def test_delete_hides_the_comment_from_readers(app, client, mod):
    comment_id = add_comment(app, "blog", status="approved")
    mod.post(f"/moderate/comments/{comment_id}/delete")
    assert get(app, Comment, comment_id).status == "deleted"
    thread = Reader(client, "blog").read().json
    assert all(c["id"] != comment_id or c["deleted"] for c in thread["comments"])


def test_action_answers_json_to_the_script(app, mod):
    comment_id = add_comment(app, "blog")
    response = mod.post(f"/moderate/comments/{comment_id}/approve", json=True)
    assert response.status_code == 200
    assert response.json["ok"] is True and response.json["comment"] == {"id": comment_id, "status": "approved",
                                                                        "pinned": False}


def test_repeating_an_action_changes_nothing_and_writes_no_event(app, mod):
    comment_id = add_comment(app, "blog")
    mod.post(f"/moderate/comments/{comment_id}/approve")
    response = mod.post(f"/moderate/comments/{comment_id}/approve", json=True)
    assert response.json["message"] == "Nothing to change."
    assert len(events(app, comment_id)) == 1


def test_pin_features_a_published_top_level_comment(app, client, mod):
    first = add_comment(app, "blog", "First", status="approved")
    second = add_comment(app, "blog", "Second", status="approved")
    mod.post(f"/moderate/comments/{second}/pin")
    assert get(app, Comment, second).pinned
    ids = [c["id"] for c in Reader(client, "blog").read().json["comments"]]
    assert ids == [second, first]
    assert events(app, second)[-1][0] == "pin"


def test_unpin_stops_featuring(app, mod):
    comment_id = add_comment(app, "blog", status="approved", pinned=True)
    mod.post(f"/moderate/comments/{comment_id}/unpin")
    assert not get(app, Comment, comment_id).pinned


def test_pinning_a_held_comment_is_refused_with_409(app, mod):
    comment_id = add_comment(app, "blog")
    response = mod.post(f"/moderate/comments/{comment_id}/pin")
    assert response.status_code == 409
    assert "top-level" in response.get_data(as_text=True)


def test_staff_edit_changes_the_text_and_marks_it(app, client, mod):
    comment_id = add_comment(app, "blog", "Orignal txt", status="approved")
    mod.post(f"/moderate/comments/{comment_id}/edit", {"text": "Original **text**"})
    comment = get(app, Comment, comment_id)
    assert comment.text == "Original **text**" and "<strong>text</strong>" in comment.html
    assert comment.edited_by_staff and comment.edited_at is not None
    assert events(app, comment_id)[-1][0] == "edit"


def test_staff_edit_is_sanitized_like_a_readers_text(app, mod):
    comment_id = add_comment(app, "blog", status="approved")
    mod.post(f"/moderate/comments/{comment_id}/edit", {"text": "<img src=x onerror=alert(1)> hi"})
    assert "<img" not in get(app, Comment, comment_id).html


def test_staff_reply_is_published_with_the_staff_badge(app, client, mod):
    parent = add_comment(app, "blog", "A question?", status="approved")
    mod.post(f"/moderate/comments/{parent}/reply", {"text": "An answer."})
    comments = Reader(client, "blog").read().json["comments"]
    reply = next(c for c in comments if c["parent_id"] == parent)
    assert reply["staff"] is True and reply["author"] == "Mo" and "An answer." in reply["html"]
    with app.app_context():
        stored = db.session.get(Comment, reply["id"])
        assert stored.moderator_id is not None and stored.status == "approved"
    assert events(app, reply["id"])[0][0] == "staff_reply"


def test_replying_to_a_held_comment_approves_it_first(app, mod):
    parent = add_comment(app, "blog")
    mod.post(f"/moderate/comments/{parent}/reply", {"text": "Welcome!"})
    assert get(app, Comment, parent).status == "approved"


def test_replying_to_a_rejected_comment_is_refused(app, mod):
    parent = add_comment(app, "blog", status="rejected")
    assert mod.post(f"/moderate/comments/{parent}/reply", {"text": "No."}).status_code == 409


def test_empty_staff_reply_is_refused_with_400(app, mod):
    parent = add_comment(app, "blog", status="approved")
    assert mod.post(f"/moderate/comments/{parent}/reply", {"text": "  "}).status_code == 400


def test_reader_cannot_claim_the_staff_badge(app, client, two_sites):
    with app.app_context():
        db.session.scalar(sa.select(Site).where(Site.key == "blog")).mode = "post"
        db.session.commit()
    response = Reader(client, "blog").post(author="Mo", staff=True)
    assert response.status_code in (201, 400)
    if response.status_code == 201:
        assert response.json["comment"]["staff"] is False


def test_ban_refuses_the_author_by_email_and_ip(app, client, mod):
    comment_id = add_comment(app, "blog", email="troll@example.org", ip="203.0.113.66")
    response = mod.post(f"/moderate/comments/{comment_id}/ban", {"duration": "7", "reason": "insults",
                                                                 "by_email": "y", "by_ip": "y"})
    assert response.status_code == 303
    with app.app_context():
        ban = db.session.scalar(sa.select(Ban))
        assert ban.email_hash and ban.ip_hash and ban.reason == "insults" and ban.expires_at is not None
    assert Reader(client, "blog", ip="203.0.113.66").post(email="new@example.org").status_code == 403
    assert events(app, comment_id)[-1][0] == "ban"


def test_ban_for_good_has_no_end(app, mod):
    comment_id = add_comment(app, "blog")
    mod.post(f"/moderate/comments/{comment_id}/ban", {"duration": "forever", "by_email": "y"})
    with app.app_context():
        ban = db.session.scalar(sa.select(Ban))
        assert ban.expires_at is None and ban.ip_hash is None


def test_ban_with_an_unknown_duration_is_refused(app, mod):
    comment_id = add_comment(app, "blog")
    assert mod.post(f"/moderate/comments/{comment_id}/ban", {"duration": "1000", "by_email": "y"}).status_code == 400


def test_lifting_a_ban_lets_the_author_comment_again(app, client, mod):
    comment_id = add_comment(app, "blog", email="troll@example.org")
    mod.post(f"/moderate/comments/{comment_id}/ban", {"duration": "30", "by_email": "y"})
    mod.post(f"/moderate/comments/{comment_id}/unban")
    assert Reader(client, "blog").post(email="troll@example.org").status_code == 201


def test_lock_closes_the_thread_to_new_comments(app, client, mod):
    comment_id = add_comment(app, "blog", status="approved")
    thread_id = get(app, Comment, comment_id).thread_id
    mod.post(f"/moderate/threads/{thread_id}/lock")
    assert get(app, Thread, thread_id).locked
    assert Reader(client, "blog").post().status_code == 403
    with app.app_context():
        event = db.session.scalar(sa.select(ModerationEvent).where(ModerationEvent.action == "lock"))
        assert event.thread_id == thread_id and event.actor == "mod@example.org"


def test_unlock_opens_the_thread_again(app, mod):
    comment_id = add_comment(app, "blog", status="approved")
    thread_id = get(app, Comment, comment_id).thread_id
    mod.post(f"/moderate/threads/{thread_id}/lock")
    mod.post(f"/moderate/threads/{thread_id}/unlock")
    assert not get(app, Thread, thread_id).locked


def test_dismissing_reports_puts_a_reported_comment_back_online(app, mod):
    comment_id = add_comment(app, "blog", reasons=["reported"])
    with app.app_context():
        db.session.add(Report(comment_id=comment_id, reason="rude"))
        db.session.commit()
    mod.post(f"/moderate/comments/{comment_id}/resolve")
    assert get(app, Comment, comment_id).status == "approved"
    with app.app_context():
        assert db.session.scalar(sa.select(Report)).resolved


def test_rejecting_a_reported_comment_resolves_its_reports(app, mod):
    comment_id = add_comment(app, "blog", status="approved")
    with app.app_context():
        db.session.add(Report(comment_id=comment_id, reason="spam link"))
        db.session.commit()
    mod.post(f"/moderate/comments/{comment_id}/reject")
    with app.app_context():
        assert db.session.scalar(sa.select(Report)).resolved


def test_bulk_reject_changes_every_selected_comment(app, mod):
    ids = [add_comment(app, "blog", f"Comment number {n}") for n in range(3)]
    response = mod.post("/moderate/bulk", {"action": "reject", "ids": [str(i) for i in ids]}, json=True)
    assert response.json["changed"] == ids
    assert {get(app, Comment, i).status for i in ids} == {"rejected"}
    assert all(events(app, i) == [("reject", "pending", "rejected", "mod@example.org")] for i in ids)


def test_bulk_without_selection_is_refused_with_400(app, mod):
    response = mod.post("/moderate/bulk", {"action": "approve"})
    assert response.status_code == 400 and "Select at least one" in response.get_data(as_text=True)


def test_bulk_with_an_unknown_action_is_refused_with_400(app, mod):
    comment_id = add_comment(app, "blog")
    assert mod.post("/moderate/bulk", {"action": "explode", "ids": str(comment_id)}).status_code == 400


def test_bulk_with_non_numeric_ids_is_refused_with_400(app, mod):
    assert mod.post("/moderate/bulk", {"action": "approve", "ids": "1 OR 1=1"}).status_code == 400


def test_bulk_with_too_many_ids_is_refused_with_413(app, mod):
    response = mod.post("/moderate/bulk", {"action": "approve", "ids": [str(n) for n in range(1, 300)]})
    assert response.status_code == 413


def test_unknown_action_gets_a_clear_400_page(app, mod):
    comment_id = add_comment(app, "blog")
    response = mod.post(f"/moderate/comments/{comment_id}/explode")
    assert response.status_code == 400 and "Unknown action" in response.get_data(as_text=True)


def test_forged_comment_id_gets_404_page(app, mod):
    assert mod.post("/moderate/comments/999999/approve").status_code == 404
    response = mod.get("/moderate/comments/999999")
    assert response.status_code == 404 and "<html" in response.get_data(as_text=True)


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_the_page_script_acting_on_a_missing_comment_gets_the_json_error_shape(app, mod):
    response = mod.post("/moderate/comments/999999/approve", json=True)
    assert response.status_code == 404 and response.mimetype == "application/json"
    assert response.json == {"error": {"code": "not_found", "message": "There is nothing here.", "fields": {}}}


def test_a_browser_acting_on_a_missing_comment_gets_the_404_page(app, mod):
    response = mod.post("/moderate/comments/999999/approve", headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "There is nothing here." in response.get_data(as_text=True)


def test_a_refused_action_answers_the_page_script_in_the_json_error_shape(app, mod):
    comment_id = add_comment(app, "blog")
    response = mod.post(f"/moderate/comments/{comment_id}/explode", json=True)
    assert response.status_code == 400
    assert response.json["error"] == {"code": "bad_request", "message": "Unknown action.", "fields": {}}


def test_huge_comment_id_gets_404_not_500(app, mod):
    assert mod.get("/moderate/comments/99999999999999999999999").status_code == 404


def test_oversized_form_gets_413_page(app, mod):
    comment_id = add_comment(app, "blog", status="approved")
    response = mod.post(f"/moderate/comments/{comment_id}/reply", {"text": "x" * 200_000})
    assert response.status_code == 413 and "<html" in response.get_data(as_text=True)


def test_too_long_staff_text_is_refused(app, app_settings, mod):
    comment_id = add_comment(app, "blog", status="approved")
    assert mod.post(f"/moderate/comments/{comment_id}/edit", {"text": "x" * 10_001}).status_code == 400


def test_get_on_an_action_url_is_405_not_an_action(app, mod):
    comment_id = add_comment(app, "blog")
    assert mod.get(f"/moderate/comments/{comment_id}/approve").status_code == 405
    assert get(app, Comment, comment_id).status == "pending"


def test_moderation_queues_a_webhook_delivery(app, mod):
    set_webhook(app)
    comment_id = add_comment(app, "blog")
    mod.post(f"/moderate/comments/{comment_id}/approve")
    topic, payload = outbox(app)[-1]
    assert topic == "comment.moderated" and payload["channel"] == "webhook"
    assert (payload["from_status"], payload["to_status"], payload["action"]) == ("pending", "approved", "approve")


def test_action_functions_refuse_another_sites_comment(app, two_sites):
    from tests.moderation_helpers import add_moderator

    add_moderator(app, "solo@example.org", sites=["blog"])
    theirs = add_comment(app, "other")
    with app.app_context():
        moderator = db.session.scalar(sa.select(actions.Moderator).where(actions.Moderator.email == "solo@example.org"))
        comment = db.session.get(Comment, theirs)
        try:
            actions.set_status(comment, "approved", moderator)
        except actions.ActionError as exc:
            assert exc.status == 404
        else:
            raise AssertionError("approved another site's comment")


def test_requeue_sends_a_decided_comment_back_to_pending(app, mod):
    comment_id = add_comment(app, "blog", status="spam")
    mod.post(f"/moderate/comments/{comment_id}/requeue")
    assert get(app, Comment, comment_id).status == "pending"
    assert events(app, comment_id) == [("requeue", "spam", "pending", "mod@example.org")]


def test_action_answer_names_the_action_that_undoes_it(app, mod):
    comment_id = add_comment(app, "blog")
    assert mod.post(f"/moderate/comments/{comment_id}/approve", json=True).json["undo"] == {str(comment_id): "requeue"}
    response = mod.post("/moderate/bulk", {"action": "spam", "ids": str(comment_id)}, json=True)
    assert response.json["undo"] == {str(comment_id): "approve"}


def test_nul_character_in_a_form_is_refused_with_400(app, mod):
    comment_id = add_comment(app, "blog", "Before", status="approved")
    response = mod.post(f"/moderate/comments/{comment_id}/edit", {"text": "bad\x00text"})
    assert response.status_code == 400 and "NUL" in response.get_data(as_text=True)
    assert get(app, Comment, comment_id).text == "Before"


def test_nul_character_in_a_search_is_refused_with_400(app, mod):
    assert mod.get("/moderate/?q=a%00b").status_code == 400
