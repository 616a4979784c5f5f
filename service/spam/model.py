"""The spam filter's tokenising and maths, with no database and no Flask.

A comment becomes a set of *features*: its words, and signals that do not
depend on a site's vocabulary (links and their domains, phone numbers and
email addresses in the text, the shape of the author's name, a website on a
first comment, how much the comment shares with its page, its script,
length and shouting).  Each feature carries counts: in how many spam and
how many genuine comments it was seen.

Scoring is Gary Robinson's method as SpamBayes uses it: each feature's
counts give a smoothed probability ``f(w)``, the strongest clues are
combined with Fisher's chi-square method, once for "spam" and once for
"genuine", and the score is ``(S - H + 1) / 2`` in [0, 1].  Counts are
added and subtracted exactly, so a lesson is taken back by subtraction.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..limits import MAX_SPAM_FEATURE

MAX_WORD = 24
MAX_TEXT = 20_000  # characters tokenised; the rest of a huge comment adds nothing new
PAGE_TEXT = 600  # characters of each approved comment that describe the page
MAX_CLUES = 150
MIN_STRENGTH = 0.1  # clues closer than this to 0.5 say nothing
UNKNOWN_PROB = 0.5  # f(w) of a feature never seen
UNKNOWN_STRENGTH = 0.45  # how many observations the unknown probability is worth

# Every value of the features that depend on the page and the commenter (see
# context_features()); the rest depend on the comment alone.
CONTEXT_FEATURES = frozenset({"topic:none", "topic:some", "topic:high", "topic:short", "topic:unknown",
                              "commenter:known", "commenter:new", "commenter:anonymous", "script:foreign",
                              "website:first-comment", "reply"})

_WORD = re.compile(r"[^\W\d_][\w'’-]*", re.UNICODE)
_URL = re.compile(r"(?:https?://|(?<![/\w.@])www\.)[^\s<>()\[\]\"']+", re.IGNORECASE)
_BARE_DOMAIN = re.compile(r"(?<![/\w.@-])((?:[a-z0-9-]{2,63}\.)+(?:com|net|org|info|biz|io|co|us|in|uk|xyz|online|"
                          r"site|shop|store|top|club|pro|me))(?![\w.-])", re.IGNORECASE)
# Bounded repeats: an unbounded one rescans a long run of letters from every position.
_EMAIL = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}\.[\w.-]{2,63}")
_PHONE = re.compile(r"(?<![\w.])\+?\(?\d[\d ().\-–]{7,}\d(?![\w.])")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_TOLL_FREE = re.compile(r"^(?:\+?1)?(?:800|888|877|866|855|844|833)")
_ANCHOR = re.compile(r"<a\s|\]\(", re.IGNORECASE)

# Words every kind of comment uses, in any domain: they are not features, and
# they say nothing of whether a comment belongs to its page.
FUNCTION_WORDS = frozenset("""
a about after again all also an and any are as at be because been before being but by can could did do does
doing don done each even for from get got had has have having he her here him his how i if in into is it its
just know like make many may me more most much my need no not now of on one only or other our out over please
really same see she should so some still such than that the their them then there these they this those
through to too try up us use used using very want was way we well were what when where which while who why
will with would yes yet you your it's i'm don't can't
au aux avec ce ces cet cette dans de des du elle en est et il ils je la le les leur mais me mes moi mon ne
nous on ou par pas plus pour qu que qui sa se ses si son sur ta te tes toi ton tu un une vos votre vous
""".split())
# Words of praise and thanks: features (generic praise is a spam pattern), but
# no sign that a comment belongs to its page.
STOPWORDS = FUNCTION_WORDS | frozenset("""
thank thanks great good nice post article blog site page thing things lot merci super article
""".split())


@dataclass(frozen=True)
class Context:
    """What the filter knows of where a comment was posted."""

    title: str = ""
    url: str = ""
    thread_texts: tuple[str, ...] = ()  # the thread's approved comments, newest first
    known_commenter: bool = False  # an approved comment by the same email on the site
    has_email: bool = False
    is_reply: bool = False


@dataclass(frozen=True)
class Clue:
    """One feature that moved the score, with its counts."""

    feature: str
    prob: float
    spam: float
    ham: float


@dataclass
class Score:
    """A comment's score and the clues behind it, strongest first."""

    value: float
    clues: list[Clue] = field(default_factory=list)


def _stem(word: str) -> str:
    """A crude stem that works across English and French: the first five letters."""
    return word[:5]


def words(text: str) -> list[str]:
    """Lower-cased words of ``text`` (letters first; numbers are not words)."""
    return [w[:MAX_WORD] for w in (w.strip("'’-") for w in _WORD.findall(text.casefold())) if len(w) > 1]


def _domain(url: str) -> str | None:
    """The registrable-looking part of a URL's host: ``blog.example.co.uk`` -> ``example.co.uk``."""
    try:
        host = urlsplit(url if "://" in url else "http://" + url).hostname or ""
    except ValueError:
        return None
    labels = [label for label in host.rstrip(".").split(".") if label]
    if len(labels) < 2:
        return None
    keep = 3 if len(labels) >= 3 and len(labels[-2]) <= 3 and len(labels[-1]) == 2 else 2
    return ".".join(labels[-keep:])[:60]


def links(text: str) -> list[str]:
    """The domains that ``text`` links to, written out or bare (``example.com``)."""
    found = [_domain(m.group()) for m in _URL.finditer(text)]
    rest = _URL.sub(" ", text)
    found += [_domain(m.group(1)) for m in _BARE_DOMAIN.finditer(_EMAIL.sub(" ", rest))]
    return [d for d in found if d]


def phone_numbers(text: str) -> list[str]:
    """Digit runs that read as phone numbers (10 to 13 digits, not an IPv4 address or a date)."""
    found = []
    for match in _PHONE.finditer(text):
        candidate = match.group()
        digits = re.sub(r"\D", "", candidate)
        if 10 <= len(digits) <= 13 and not _IPV4.fullmatch(candidate.strip()) \
                and not re.fullmatch(r"\d{4}-\d{2}-\d{2}.*", candidate):
            found.append(digits)
    return found


@functools.lru_cache(maxsize=4096)
def _script_of(ch: str) -> str:
    name = unicodedata.name(ch, "")
    key = name.split(" ", 1)[0] if name else "OTHER"
    return "CJK" if key in ("HIRAGANA", "KATAKANA") else key


def script(text: str) -> str | None:
    """The script most of the letters of ``text`` are written in (LATIN, CYRILLIC, CJK ...)."""
    sample = text[:2000]
    if sample.isascii():
        return "LATIN" if any(ch.isalpha() for ch in sample) else None
    tally: dict[str, int] = {}
    seen = 0
    for ch in sample:
        if ch.isalpha():
            key = "LATIN" if ch.isascii() else _script_of(ch)
            tally[key] = tally.get(key, 0) + 1
            seen += 1
            if seen >= 400:
                break
    return max(tally, key=tally.__getitem__) if tally else None


def _content(tokens: Iterable[str]) -> set[str]:
    return {_stem(w) for w in tokens if len(w) > 2 and w not in STOPWORDS}


@functools.lru_cache(maxsize=2048)
def _page_words(text: str) -> frozenset[str]:
    # The same titles and approved comments describe a page post after post.
    return frozenset(_content(words(text)))


def relevance(text: str, context: Context) -> str:
    """How much the comment shares with its page: ``none``, ``some``, ``high``, or
    ``short`` (too few words to tell) and ``unknown`` (nothing known of the page)."""
    own = _content(words(text))
    if len(own) < 3:
        return "short"
    page = set(_page_words(context.title)) | _page_words(context.url.replace("-", " ").replace("_", " "))
    for other in context.thread_texts:
        page |= _page_words(other[:PAGE_TEXT])
    if not page:
        return "unknown"
    share = len(own & page) / len(own)
    return "none" if share == 0 else "some" if share < 0.3 else "high"


def _bucket(value: int, limits: tuple[int, ...]) -> str:
    for limit in limits:
        if value < limit:
            return f"<{limit}"
    return f"{limits[-1]}+"


def features(text: str, author: str = "", website: str | None = None, context: Context = Context()) -> set[str]:
    """Every feature of a comment, as short strings (``w:`` words, others named by their signal)."""
    return comment_features(text, author, website) | context_features(text, website, context)


def comment_features(text: str, author: str = "", website: str | None = None) -> set[str]:
    """The features that depend on the comment alone, not on where it was posted."""
    text = (text or "")[:MAX_TEXT]
    author = author or ""
    tokens = words(text)
    found = {f"w:{w}" for w in tokens if w not in FUNCTION_WORDS}

    domains = links(text)
    found.add(f"links:{_bucket(len(domains), (1, 2, 4))}")
    found.update(f"link:{d}" for d in domains)
    if _ANCHOR.search(text):
        found.add("link:anchor")
    phones = phone_numbers(text)
    if phones:
        found.add("phone")
        if any(_TOLL_FREE.match(p) for p in phones):
            found.add("phone:toll-free")
    if _EMAIL.search(text):
        found.add("email-in-text")

    name_words = words(author)
    found.update(f"a:{w}" for w in name_words)
    found.add(f"name:{_bucket(len(author.split()), (2, 3, 4))}")
    if any(ch.isdigit() for ch in author):
        found.add("name:digits")
    if len(name_words) >= 2 and sum(w in tokens for w in name_words) >= 2:
        found.add("name:in-text")
    if website:
        found.add("website")
        domain = _domain(website)
        if domain:
            found.add(f"web:{domain}")
            if domain in domains:
                found.add("website:linked-in-text")

    own_script = script(text)
    found.add("script:none" if own_script is None else f"script:{own_script.lower()}")
    letters = [ch for ch in text[:2000] if ch.isalpha()]
    found.add(f"length:{_bucket(len(text), (20, 60, 200, 600, 1500))}")
    if len(letters) >= 12 and sum(ch.isupper() for ch in letters) > 0.6 * len(letters):
        found.add("shouting")
    if text.count("!") >= 3:
        found.add("exclamations")
    return {f[:MAX_SPAM_FEATURE] for f in found}


def context_features(text: str, website: str | None, context: Context) -> set[str]:
    """The features that depend on the page and the commenter: each is one of
    :data:`CONTEXT_FEATURES` (or ``reply``)."""
    text = (text or "")[:MAX_TEXT]
    found = {"commenter:known" if context.known_commenter else
             "commenter:new" if context.has_email else "commenter:anonymous",
             f"topic:{relevance(text, context)}"}
    if website and not context.known_commenter:
        found.add("website:first-comment")
    if context.is_reply:
        found.add("reply")
    own_script = script(text)
    if own_script is not None:
        page_script = script(" ".join((context.title, *context.thread_texts)))
        if page_script and page_script != own_script:
            found.add("script:foreign")
    return found


def probability(spam: float, ham: float, spam_total: float, ham_total: float) -> float:
    """Robinson's f(w): the share of spam among comments with the feature, each class
    weighed by its size, pulled towards :data:`UNKNOWN_PROB` when seen little."""
    spam_ratio = spam / spam_total if spam_total > 0 else 0.0
    ham_ratio = ham / ham_total if ham_total > 0 else 0.0
    seen = spam + ham
    if spam_ratio + ham_ratio == 0:
        return UNKNOWN_PROB
    p = spam_ratio / (spam_ratio + ham_ratio)
    return (UNKNOWN_STRENGTH * UNKNOWN_PROB + seen * p) / (UNKNOWN_STRENGTH + seen)


def chi2q(x2: float, freedom: int) -> float:
    """P(chi-square with ``freedom`` (even) degrees of freedom >= ``x2``)."""
    m = x2 / 2.0
    term = total = math.exp(-m)
    for i in range(1, freedom // 2):
        term *= m / i
        total += term
    return min(total, 1.0)


def combine(probs: list[float]) -> float:
    """Fisher's combination of clue probabilities, as SpamBayes does it: 0.5 with no clue."""
    if not probs:
        return 0.5
    # Sums of logs, not products: a hundred small probabilities underflow.
    spam_log = sum(math.log(max(1.0 - p, 1e-12)) for p in probs)
    ham_log = sum(math.log(max(p, 1e-12)) for p in probs)
    n = len(probs)
    spamminess = 1.0 - chi2q(-2.0 * spam_log, 2 * n)
    hamminess = 1.0 - chi2q(-2.0 * ham_log, 2 * n)
    return (spamminess - hamminess + 1.0) / 2.0


def score(found: set[str], counts: dict[str, tuple[float, float]], spam_total: float, ham_total: float) -> Score:
    """Score a comment's features given ``counts`` (feature -> (spam, ham)) and the class totals."""
    clues = []
    for feature in found:
        spam, ham = counts.get(feature, (0.0, 0.0))
        prob = probability(spam, ham, spam_total, ham_total)
        if abs(prob - 0.5) >= MIN_STRENGTH:
            clues.append(Clue(feature, prob, spam, ham))
    clues.sort(key=lambda clue: (-abs(clue.prob - 0.5), clue.feature))
    clues = clues[:MAX_CLUES]
    return Score(combine([clue.prob for clue in clues]), clues)
