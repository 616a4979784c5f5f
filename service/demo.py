"""The demo: a sample blog article in French (/demo) and English (/demo/en).

``seed_demo()`` creates the ``demo`` site and a sample threaded discussion
under both articles, with work waiting in the moderation queue in both
languages (comments held for review, one reported by a reader, one filed as
spam); running it again changes nothing (each sample comment carries an
``import_ref``, so it is never added twice).  The pages are served
with the strict Content-Security-Policy the README asks of host sites, so the
demo also shows that the widget needs nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import Blueprint, current_app, render_template

from . import sanitize, urls
from .choices import Mode, Status
from .extensions import db
from .models import Comment, Report, Site, Thread, utcnow

SITE_KEY = "demo"
LOCAL_ORIGINS = ("http://127.0.0.1:8080", "http://localhost:8080")

bp = Blueprint("demo", __name__, static_folder="static/demo", static_url_path="/demo/static")


@dataclass(frozen=True)
class Sample:
    """One sample comment: ``parent`` is the ref of the comment it answers."""

    ref: str
    author: str
    text: str
    hours_ago: float
    parent: str | None = None
    staff: bool = False
    pinned: bool = False
    status: str = Status.APPROVED
    # Why the rules held it, as the queue shows it.
    reasons: tuple[str, ...] = ()
    # A reader's report still open on it.
    report: str | None = None


DISCUSSIONS = {
    "fr": (
        "Les pièges de l’animation d’une communauté sur un blog",
        (
            Sample("a", "Sophie", "Merci pour cet article\u202f! Le passage sur « la modération invisible » m’a "
                   "beaucoup parlé 😊 Chez nous, on a mis des mois à comprendre qu’on s’épuisait à tout relire "
                   "à la main.", 74),
            Sample("b", "Claire (autrice)", "Merci Sophie\u202f! C’est exactement pour ça que je conseille de "
                   "laisser des **règles automatiques** faire le premier tri\u202f: on garde son énergie pour "
                   "les cas qui demandent vraiment un humain.", 70, parent="a", staff=True),
            Sample("c", "Sophie", "Bonne idée, je vais essayer dès cette semaine 👍", 69, parent="b"),
            Sample("d", "Marc", "Je ne suis pas tout à fait d’accord sur les votes\u202f: sur le forum que "
                   "j’anime, les « j’aime » ont plutôt tiré la discussion vers le haut. 🤔", 50),
            Sample("e", "Inès", "Chez nous, c’était l’inverse\u202f: course aux likes, commentaires-slogans, "
                   "et les avis nuancés ont disparu.", 47, parent="d"),
            Sample("f", "Marc", "Touché. Peut-être que tout dépend de la taille de la communauté\u202f?", 45,
                   parent="e"),
            Sample("g", "Claire (autrice)", "Probablement\u202f! Au-delà de quelques centaines de lecteurs "
                   "actifs, les votes deviennent un concours de popularité. D’où le choix de *mettre en avant* "
                   "plutôt que de compter.", 40, parent="f", staff=True),
            Sample("h", "Inès", "« Mettre en avant plutôt que compter »\u202f: je note la formule ✍️", 38,
                   parent="g"),
            Sample("i", "Jean", "Le conseil sur les résumés quotidiens m’a rendu mes week-ends 🙏 Avant, "
                   "chaque notification me faisait sursauter.", 20, pinned=True),
            Sample("j", "Léa", "Première visite ici : est-ce que ces conseils valent aussi pour une "
                   "page Facebook ?", 6, status=Status.PENDING, reasons=("first_time",)),
            Sample("k", "Bruno", "Je ne suis pas convaincu. Ça ressemble surtout à de la censure qui ne dit "
                   "pas son nom.", 3, parent="g", status=Status.PENDING, reasons=("first_time",)),
            Sample("l", "Marc", "Claire, tu es vraiment nulle, arrête d’écrire.", 12, parent="i",
                   report="Insultant envers l’autrice"),
            Sample("m", "Promo-Express", "GAGNEZ 5000 € PAR JOUR depuis chez vous !!! Cliquez ici "
                   "https://promo.example/gain", 2, status=Status.SPAM, reasons=("duplicate",)),
        ),
    ),
    "en": (
        "The pitfalls of community management on a blog",
        (
            Sample("a", "Sophie", "Thanks for this! The part about “invisible moderation” hit home 😊 It took "
                   "us months to notice we were wearing ourselves out re-reading everything by hand.", 74),
            Sample("b", "Claire (author)", "Thank you, Sophie! That’s exactly why I suggest letting "
                   "**automatic rules** do the first pass: keep your energy for the cases that really need "
                   "a human.", 70, parent="a", staff=True),
            Sample("c", "Sophie", "Good idea, I’ll try it this week 👍", 69, parent="b"),
            Sample("d", "Marc", "I don’t quite agree about votes: on the forum I run, likes pulled the "
                   "discussion up rather than down. 🤔", 50),
            Sample("e", "Inès", "For us it was the opposite: a race for likes, slogan comments, and the "
                   "nuanced voices left. As we say in French, « la course aux likes ».", 47, parent="d"),
            Sample("f", "Marc", "Fair point. Maybe it depends on the size of the community?", 45, parent="e"),
            Sample("g", "Claire (author)", "Probably! Past a few hundred active readers, votes turn into a "
                   "popularity contest. Hence *featuring* comments rather than counting them.", 40,
                   parent="f", staff=True),
            Sample("h", "Inès", "“Feature rather than count”: noting that one ✍️", 38, parent="g"),
            Sample("i", "Jean", "The advice on daily digests gave me my weekends back 🙏 Every "
                   "notification used to make me jump.", 20, pinned=True),
            Sample("j", "Lea", "First time here: does this advice work for a Facebook page too?", 6,
                   status=Status.PENDING, reasons=("first_time",)),
            Sample("k", "Bruno", "Not convinced. This sounds like censorship that won’t say its name.", 3,
                   parent="g", status=Status.PENDING, reasons=("first_time",)),
            Sample("l", "Marc", "Claire, you’re hopeless, stop writing.", 12, parent="i",
                   report="Insulting the author"),
            Sample("m", "Promo-Express", "EARN $5000 A DAY from home!!! Click here https://promo.example/earn",
                   2, status=Status.SPAM, reasons=("duplicate",)),
        ),
    ),
}
PATHS = {"fr": "/demo", "en": "/demo/en"}


def demo_origins() -> list[str]:
    """The service's own origins: where the demo pages are opened from."""
    origins = {urls.normalize_origin(current_app.config["CAUSERIE_PUBLIC_URL"]), *LOCAL_ORIGINS}
    return sorted(origins)


def article_url(lang: str) -> str:
    """The thread URL of the demo article in ``lang``."""
    return urls.normalize(current_app.config["CAUSERIE_PUBLIC_URL"] + PATHS[lang])


def seed_demo() -> Site:
    """Create (or complete) the demo site and its sample discussions; idempotent."""
    site = db.session.scalar(sa.select(Site).where(Site.key == SITE_KEY))
    if site is None:
        site = Site(key=SITE_KEY, name="Causerie demo", origins=demo_origins(), mode=Mode.FIRST_TIME)
        db.session.add(site)
        db.session.flush()
    else:
        missing = [origin for origin in demo_origins() if origin not in (site.origins or [])]
        if missing:
            site.origins = sorted({*(site.origins or []), *missing})
    for lang, (title, samples) in DISCUSSIONS.items():
        _seed_thread(site, article_url(lang), title, lang, samples)
    db.session.commit()
    return site


def _seed_thread(site: Site, url: str, title: str, lang: str, samples) -> None:
    thread = db.session.scalar(sa.select(Thread).where(Thread.site_id == site.id, Thread.url == url))
    if thread is None:
        thread = Thread(site_id=site.id, url=url, title=title)
        db.session.add(thread)
        db.session.flush()
    refs = {f"demo:{lang}:{sample.ref}" for sample in samples}
    existing = {
        comment.import_ref: comment
        for comment in db.session.scalars(
            sa.select(Comment).where(Comment.site_id == site.id, Comment.import_ref.in_(refs))
        )
    }
    now = utcnow()
    for sample in samples:
        ref = f"demo:{lang}:{sample.ref}"
        if ref in existing:
            continue
        parent = existing.get(f"demo:{lang}:{sample.parent}") if sample.parent else None
        created = now - timedelta(hours=sample.hours_ago)
        comment = Comment(
            site_id=site.id, thread=thread, parent_id=parent.id if parent else None, author=sample.author,
            text=sample.text, html=sanitize.render(sample.text), status=sample.status, staff=sample.staff,
            pinned=sample.pinned, created_at=created, import_ref=ref,
            reasons=sorted({*sample.reasons, *(("reported",) if sample.report else ())}),
        )
        if sample.report:
            comment.reports.append(Report(reason=sample.report, created_at=created + timedelta(minutes=20)))
        db.session.add(comment)
        db.session.flush()
        existing[ref] = comment


# As strict as the README's policy for host sites: the widget needs nothing inline.
DEMO_POLICY = ("default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; "
               "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def _page(lang: str):
    body = render_template(f"demo/article_{lang}.html", lang=lang, thread_url=article_url(lang),
                           other=PATHS["en" if lang == "fr" else "fr"])
    return body, 200, {"Content-Security-Policy": DEMO_POLICY, "X-Content-Type-Options": "nosniff"}


@bp.get("/demo")
def article_fr():
    """The French demo article with the widget."""
    return _page("fr")


@bp.get("/demo/en")
def article_en():
    """The English demo article with the widget."""
    return _page("en")
