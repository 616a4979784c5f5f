"""The shared import: decide what is new in a :class:`Source`, then write it at once.

Whatever the format, an import

* maps each page to a thread by the normalised URL (after an optional host
  rewrite, for a blog that moved), creating only threads that are missing;
* recognises comments it already imported by ``Comment.import_ref``, so the
  same file imported twice adds nothing the second time;
* keeps threading even when a reply comes before its parent in the file,
  and refuses to store reply loops or replies across threads (such comments
  are kept as top-level ones, and counted in the summary);
* renders every body through the same Markdown and sanitizer path as new
  comments: an export is untrusted input;
* renders before it writes, then takes the write lock and checks again
  what is new, so a live site keeps taking comments during a long import;
* writes everything in one transaction with bulk statements (a handful of
  queries whatever the file's size), or, in a dry run, nothing at all.

IP addresses from the source are kept (hashed) only for comments younger
than ``CAUSERIE_IP_RETENTION_DAYS``; older ones would be purged anyway.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa
from flask import current_app

from .. import hashing, site_settings, urls
from ..choices import Status, values_of
from ..extensions import db
from ..limits import MAX_ACTOR, MAX_IMPORT_REF, MAX_THREAD_KEY
from ..models import Ban, Comment, ModerationEvent, Site, Thread, utcnow
from ..spam import filter as spam_filter
from ..spam import model as spam_model
from . import text as bodies
from .source import ImportFileError, Source, SourceComment

CHUNK = 1000
# Ten times what a reader may post: room for old long comments, none for a
# hostile file's megabyte of nested tags.
MAX_BODY = 100_000

Step = Callable[[str, int], Callable[[int], None] | None]
"""``step(label, total)`` returns a callback to advance by n (a progress bar), or None."""


@dataclass
class Summary:
    """What an import did (or, in a dry run, would do)."""

    format: str
    site: str
    dry_run: bool
    site_created: bool = False
    threads_created: int = 0
    threads_existing: int = 0
    comments_created: int = 0
    bans_created: int = 0
    statuses: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    notes: Counter = field(default_factory=Counter)
    foreign_hosts: Counter = field(default_factory=Counter)

    @property
    def comments_skipped(self) -> int:
        """Comments of the file that were not (or would not be) created."""
        return sum(self.skipped.values())

    def lines(self) -> list[str]:
        """The summary as sentences for the command line."""
        would = "would be " if self.dry_run else ""
        out = [f"{'Dry run: nothing was written. ' if self.dry_run else ''}"
               f"Import from {self.format} into site {self.site!r}:"]
        if self.site_created:
            out.append(f"  site {self.site!r} {would}created from the file's settings")
        out.append(f"  threads: {self.threads_created} {would}created, {self.threads_existing} already there")
        by_status = ", ".join(f"{n} {s}" for s, n in sorted(self.statuses.items()))
        out.append(f"  comments: {self.comments_created} {would}created"
                   f"{f' ({by_status})' if by_status else ''}, {self.comments_skipped} skipped")
        for reason, n in sorted(self.skipped.items(), key=lambda item: (-item[1], item[0])):
            out.append(f"    skipped {n}: {reason}")
        for note, n in sorted(self.notes.items(), key=lambda item: (-item[1], item[0])):
            out.append(f"    note, {n}: {note}")
        if self.bans_created:
            out.append(f"  bans: {self.bans_created} {would}created")
        if self.foreign_hosts:
            hosts = ", ".join(f"{h} ({n})" for h, n in self.foreign_hosts.most_common())
            out.append(f"  warning: comments on pages outside the site's origins: {hosts}; readers will not "
                       "see them there (if the blog moved, use --rewrite-host OLD=NEW or OLD=https://NEW)")
        return out


def parse_rewrites(values: Iterable[str]) -> dict[str, tuple[str | None, str]]:
    """``OLD=NEW`` pairs: OLD a host (``old.example``, maybe with a port), NEW a host
    or an origin (``https://new.example``) when the scheme changed too."""
    rewrites = {}
    for value in values:
        old, sep, new = value.partition("=")
        old, new = old.strip().lower(), new.strip().lower().rstrip("/")
        scheme = None
        if "://" in new:
            scheme, _, new = new.partition("://")
            if scheme not in ("http", "https"):
                raise ValueError(f"{value!r}: the new origin must be http or https")
        if not sep or not old or not new or "/" in old + new or "://" in old:
            raise ValueError(f"{value!r} is not OLD_HOST=NEW_HOST (or OLD_HOST=https://NEW_HOST)")
        rewrites[old] = (scheme, new)
    return rewrites


def rewrite_host(url: str, rewrites: dict[str, tuple[str | None, str]]) -> str:
    """``url`` moved to the new host (and scheme) when its host is one of the old ones."""
    if not rewrites:
        return url
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").rstrip(".")
        target = rewrites.get(f"{host}:{parts.port}") if parts.port else None
    except ValueError:
        return url
    if target is None:
        target = rewrites.get(host)
    if target is None:
        return url
    scheme, netloc = target
    return urlunsplit((scheme or parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@dataclass
class _Plan:
    site: Site | None
    thread_urls: dict[str, str]  # source thread ref -> normalised URL
    existing_threads: dict[str, int]  # URL -> id
    untitled: set[int]  # existing threads without a title
    new_thread_urls: set[str]
    comments: list[SourceComment]
    parents: dict[str, str | None]  # ref -> parent ref, after checks
    existing_refs: dict[str, tuple[int, int]]  # ref -> (comment id, thread id)


def run(source: Source, site_key: str, *, dry_run: bool = False, rewrites: dict | None = None,
        step: Step | None = None, actor: str = "cli", parallel: bool = False) -> Summary:
    """Import ``source`` into the site ``site_key``; one transaction, or nothing in a dry run.

    ``parallel`` lets rendering use worker processes for big files (the
    command line does; a web request should not fork).
    """
    summary = Summary(source.format, site_key, dry_run)
    summary.skipped.update(source.skipped)
    try:
        plan = _plan(source, site_key, rewrites or {}, summary)
        db.session.rollback()  # rendering takes a while: hold no snapshot meanwhile
        if dry_run:
            return summary
        rendered = _render(plan.comments, step or (lambda _label, _total: None), parallel)
        # Take the write lock first (SQLite's writers queue on it), then plan
        # again on fresh data: whatever changed while rendering is accounted for.
        table = Site.__table__
        db.session.execute(table.update().where(table.c.key == site_key).values(key=table.c.key))
        summary = Summary(source.format, site_key, dry_run)
        summary.skipped.update(source.skipped)
        plan = _plan(source, site_key, rewrites or {}, summary)
        _write(source, plan, summary, rendered, actor)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return summary


def _render(comments: list[SourceComment], step: Step, parallel: bool) -> dict[str, tuple[str, str]]:
    """``(text, html)`` of every comment to create, by ref, before any write."""
    # Causerie's own export has text and html: the text is kept, the html cleaned again.
    results = bodies.render_many(
        [(c.html, bodies.HTML_CLEAN) if c.html is not None else (c.body, c.body_format) for c in comments],
        step("Rendering comments", len(comments)), parallel=parallel)
    return {c.ref: (c.body if c.html is not None else text, html)
            for c, (text, html) in zip(comments, results, strict=True)}


def _plan(source: Source, site_key: str, rewrites: dict, summary: Summary) -> _Plan:
    site = db.session.scalar(sa.select(Site).where(Site.key == site_key))
    if site is None:
        if source.site is None:
            raise ImportFileError(
                f"There is no site with the key {site_key!r}; add it first with `causerie sites add`.")
        summary.site_created = True

    thread_urls: dict[str, str] = {}
    bad_threads: set[str] = set()
    for ref, thread in source.threads.items():
        try:
            thread_urls[ref] = urls.normalize(rewrite_host(thread.url, rewrites))
        except urls.InvalidURL:
            bad_threads.add(ref)

    existing_threads: dict[str, int] = {}
    untitled: set[int] = set()
    existing_refs: dict[str, tuple[int, int]] = {}
    if site is not None:
        for url, tid, title in db.session.execute(
                sa.select(Thread.url, Thread.id, Thread.title).where(Thread.site_id == site.id)):
            existing_threads[url] = tid
            if not title:
                untitled.add(tid)
        existing_refs = {ref: (cid, tid) for ref, cid, tid in db.session.execute(
            sa.select(sa.type_coerce(Comment.import_ref, sa.String), Comment.id, Comment.thread_id)
            .where(Comment.site_id == site.id, Comment.import_ref.is_not(None)))}
        if source.format == "json":
            existing_refs.update(_own_comments(site, source.comments))
        if source.site is not None:
            summary.notes["the site already exists: its settings were kept, the file's were not applied"] = 1

    comments: list[SourceComment] = []
    seen: set[str] = set()
    for comment in source.comments:
        if comment.ref in existing_refs:
            summary.skipped["already imported"] += 1
        elif comment.ref in seen:
            summary.skipped["the same id appears twice in the file"] += 1
        elif len(comment.ref) > MAX_IMPORT_REF:
            summary.skipped[f"id longer than {MAX_IMPORT_REF} characters"] += 1
        elif comment.thread_ref in bad_threads:
            summary.skipped["its page's URL is not a valid http(s) URL"] += 1
        elif comment.thread_ref not in thread_urls:
            summary.skipped["its thread is not in the file"] += 1
        elif len(comment.body) > MAX_BODY or len(comment.html or "") > 2 * MAX_BODY:
            summary.skipped[f"longer than {MAX_BODY:,} characters"] += 1
        elif comment.status not in values_of(Status):
            summary.skipped[f"unknown status {comment.status[:40]!r}"] += 1
        else:
            seen.add(comment.ref)
            comments.append(comment)

    needed = {thread_urls[c.thread_ref] for c in comments}
    if source.format == "json":
        needed |= {thread_urls[ref] for ref in thread_urls}  # a backup restores empty threads too
    new_thread_urls = needed - existing_threads.keys()
    summary.threads_created = len(new_thread_urls)
    summary.threads_existing = len(set(thread_urls.values()) & existing_threads.keys())

    parents = _parents(comments, thread_urls, existing_refs, existing_threads, summary)
    origins = set(site.origins or []) if site is not None else set((source.site or {}).get("origins") or [])
    for comment in comments:
        summary.statuses[comment.status] += 1
        origin = urls.origin_of_normalized(thread_urls[comment.thread_ref])
        if origin not in origins:
            summary.foreign_hosts[origin] += 1
        if comment.created_at is None:
            summary.notes["no valid date: the import's time was used"] += 1
    summary.comments_created = len(comments)
    summary.bans_created = len(_new_bans(site, source.bans))
    return _Plan(site, thread_urls, existing_threads, untitled, new_thread_urls, comments, parents, existing_refs)


def _own_comments(site: Site, comments: list[SourceComment]) -> dict[str, tuple[int, int]]:
    """Comments of this very database in a Causerie backup (``causerie:ID``, no
    import_ref yet): recognised by id and creation time (to the microsecond),
    so restoring a backup into the database it came from only adds what is
    missing there, and keeps what was edited since."""
    wanted = {}
    for comment in comments:
        prefix, _, number = comment.ref.partition(":")
        if prefix == "causerie" and number.isdigit() and len(number) < 19:
            wanted[int(number)] = comment
    found = {}
    ids = sorted(wanted)
    for start in range(0, len(ids), CHUNK):
        rows = db.session.execute(
            sa.select(Comment.id, Comment.thread_id, Comment.created_at)
            .where(Comment.site_id == site.id, Comment.import_ref.is_(None), Comment.id.in_(ids[start:start + CHUNK])))
        for cid, tid, created_at in rows:
            if wanted[cid].created_at == created_at:
                found[wanted[cid].ref] = (cid, tid)
    return found


def _parents(comments, thread_urls, existing_refs, existing_threads, summary) -> dict[str, str | None]:
    """Each new comment's parent ref, or None where the parent cannot be trusted."""
    by_ref = {c.ref: c for c in comments}
    thread_of_id = {tid: url for url, tid in existing_threads.items()}
    parents: dict[str, str | None] = {}
    for comment in comments:
        parent = comment.parent_ref
        url = thread_urls[comment.thread_ref]
        if parent is None:
            parents[comment.ref] = None
        elif parent in by_ref:
            if thread_urls[by_ref[parent].thread_ref] != url:
                summary.notes["reply to a comment of another thread: kept as a top-level comment"] += 1
                parent = None
            parents[comment.ref] = parent
        elif parent in existing_refs:
            if thread_of_id.get(existing_refs[parent][1]) != url:
                summary.notes["reply to a comment of another thread: kept as a top-level comment"] += 1
                parent = None
            parents[comment.ref] = parent
        else:
            summary.notes["reply to a comment that is not in the file: kept as a top-level comment"] += 1
            parents[comment.ref] = None

    # A hostile or damaged file can make replies form a loop; cut each loop once.
    state: dict[str, int] = {}  # 1: on the current path, 2: known to reach a root
    for start in parents:
        path = []
        ref: str | None = start
        while ref is not None and ref in parents and state.get(ref) != 2:
            if state.get(ref) == 1:
                parents[ref] = None
                summary.notes["replies that formed a loop: one kept as a top-level comment"] += 1
                break
            state[ref] = 1
            path.append(ref)
            ref = parents[ref]
        for ref in path:
            state[ref] = 2
    return parents


def _new_bans(site: Site | None, bans: list[dict]) -> list[dict]:
    if not bans:
        return []
    known = set()
    if site is not None:
        known = {tuple(row) for row in db.session.execute(
            sa.select(Ban.email_hash, Ban.ip_hash, Ban.created_at).where(Ban.site_id == site.id))}
    return [ban for ban in bans if (ban["email_hash"], ban["ip_hash"], ban["created_at"]) not in known]


def _write(source: Source, plan: _Plan, summary: Summary, rendered: dict[str, tuple[str, str]], actor: str) -> None:
    site = plan.site
    if site is None:
        settings = source.site or {}
        site = Site(key=summary.site)
        if settings.get("created_at") is not None:
            site.created_at = settings["created_at"]
        site_settings.apply(site, settings)
        db.session.add(site)
        db.session.flush()
    now = utcnow()

    thread_ids = dict(plan.existing_threads)
    threads_by_url = {}
    for ref, thread in source.threads.items():
        url = plan.thread_urls.get(ref)
        if url in plan.new_thread_urls and url not in threads_by_url:
            threads_by_url[url] = thread
    first_comment: dict[str, datetime] = {}
    for comment in plan.comments:
        url = plan.thread_urls[comment.thread_ref]
        if comment.created_at and (url not in first_comment or comment.created_at < first_comment[url]):
            first_comment[url] = comment.created_at
    keys_taken = set(db.session.scalars(sa.select(Thread.key).where(
        Thread.site_id == site.id, Thread.key.is_not(None))))
    new_threads = []
    for url in sorted(plan.new_thread_urls):
        thread = threads_by_url[url]
        key = thread.key[:MAX_THREAD_KEY] if thread.key and thread.key not in keys_taken else None
        keys_taken.add(key)
        new_threads.append({"site_id": site.id, "url": url, "key": key, "title": thread.title,
                            "locked": thread.locked, "version": 1,
                            "created_at": thread.created_at or first_comment.get(url) or now})
    # Plain executemany, then one query for the ids: RETURNING in parameter
    # order would cost a statement per row on SQLite.
    if new_threads:
        db.session.execute(sa.insert(Thread), new_threads)
        thread_ids.update(db.session.execute(
            sa.select(Thread.url, Thread.id).where(Thread.site_id == site.id)).all())

    # Pages already known get the file's title if they had none; their
    # version moves so that cached bodies and ETags are refreshed.
    touched = {thread_ids[plan.thread_urls[c.thread_ref]] for c in plan.comments} & set(plan.existing_threads.values())
    titles = {}
    for ref, thread in source.threads.items():
        url = plan.thread_urls.get(ref)
        tid = plan.existing_threads.get(url) if url is not None else None
        if thread.title and tid in plan.untitled:
            titles[tid] = thread.title
    if titles:
        table = Thread.__table__
        db.session.connection().execute(
            table.update().where(table.c.id == sa.bindparam("row_id")).values(title=sa.bindparam("new_title")),
            [{"row_id": tid, "new_title": title} for tid, title in titles.items()])
    touched_ids = sorted(touched)
    for start in range(0, len(touched_ids), CHUNK):
        db.session.execute(sa.update(Thread).where(Thread.id.in_(touched_ids[start:start + CHUNK]))
                           .values(version=Thread.version + 1))

    missing = [c for c in plan.comments if c.ref not in rendered]  # only if the data changed meanwhile
    rendered = {**rendered, **_render(missing, lambda _label, _total: None, False)} if missing else rendered
    rows = _comment_rows(plan, site, thread_ids, now, rendered)
    for start in range(0, len(rows), CHUNK):
        db.session.execute(sa.insert(Comment), rows[start:start + CHUNK])
    ref_ids = {ref: cid for ref, (cid, _tid) in plan.existing_refs.items()}
    ref_ids.update(db.session.execute(
        sa.select(sa.type_coerce(Comment.import_ref, sa.String), Comment.id)
        .where(Comment.site_id == site.id, Comment.import_ref.is_not(None))).all())
    # Parents are linked once every comment has its id, whatever the file's order:
    # one executemany, not a statement per reply.
    links = [{"row_id": ref_ids[c.ref], "new_parent": ref_ids[parent]}
             for c in plan.comments if (parent := plan.parents[c.ref]) is not None]
    if links:
        table = Comment.__table__
        db.session.connection().execute(
            table.update().where(table.c.id == sa.bindparam("row_id")).values(parent_id=sa.bindparam("new_parent")),
            links)

    _teach(source, plan, site, ref_ids, rendered)
    for ban in _new_bans(plan.site, source.bans):
        db.session.add(Ban(site_id=site.id, **ban))
    if not (summary.comments_created or summary.threads_created or summary.site_created):
        return
    db.session.add(ModerationEvent(
        site_id=site.id, actor=actor[:MAX_ACTOR], action="imported",
        detail=f"{summary.format}: {summary.comments_created} comments and {summary.threads_created} "
               f"threads created, {summary.comments_skipped} skipped"))


def _teach(source: Source, plan: _Plan, site: Site, ref_ids: dict[str, int],
           rendered: dict[str, tuple[str, str]]) -> None:
    """Imported decisions teach the site's spam filter: approved comments as
    genuine, those the old system filed as spam as spam."""
    lessons = []
    for comment in plan.comments:
        text = rendered[comment.ref][0]
        if comment.status not in (Status.APPROVED, Status.SPAM) or comment.staff or not text:
            continue
        thread = source.threads.get(comment.thread_ref)
        context = spam_model.Context(title=(thread.title if thread else "") or "",
                                     url=plan.thread_urls[comment.thread_ref], has_email=bool(comment.email))
        lessons.append((ref_ids[comment.ref], spam_filter.LABELS[comment.status],
                        spam_model.features(text, comment.author, comment.website, context)))
    spam_filter.teach_many(site.id, lessons)


def _comment_rows(plan: _Plan, site: Site, thread_ids: dict[str, int], now: datetime,
                  rendered: dict[str, tuple[str, str]]) -> list[dict]:
    retention = timedelta(days=current_app.config["CAUSERIE_IP_RETENTION_DAYS"])
    keep_ip_after = now - retention
    rows = []
    for comment in plan.comments:
        text, html = rendered[comment.ref]
        created_at = comment.created_at or now
        ip_hash = comment.ip_hash
        if ip_hash is None and comment.ip_address and created_at >= keep_ip_after:
            ip_hash = hashing.ip_hash(comment.ip_address)
        rows.append({
            "site_id": site.id,
            "thread_id": thread_ids[plan.thread_urls[comment.thread_ref]],
            "parent_id": None,
            "author": comment.author,
            "email": comment.email,
            "email_hash": hashing.email_hash(comment.email),
            "website": comment.website,
            "text": text,
            "html": html,
            "text_hash": hashing.text_fingerprint(text) if text else None,
            "status": comment.status,
            "reasons": list(comment.reasons),
            "created_at": created_at,
            "edited_at": comment.edited_at,
            "edited_by_staff": comment.edited_by_staff,
            "moderated_at": comment.moderated_at,
            "ip_hash": ip_hash,
            "staff": comment.staff,
            "moderator_id": None,
            "pinned": comment.pinned,
            "notify": comment.notify and comment.email is not None,
            "notify_confirmed_at": (None if not (comment.notify or comment.follow) or comment.email is None
                                    or comment.notify_pending else comment.notify_confirmed_at or created_at),
            "follow": comment.follow and comment.email is not None,
            "followed_until": comment.followed_until,
            "language": comment.language,
            "edit_token_hash": None,
            "import_ref": comment.ref,
        })
    return rows
