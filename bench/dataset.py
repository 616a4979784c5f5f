"""The benchmark's data: the same threads and comments for Causerie and Isso.

Generated from a fixed seed so that every run, and both services, see the
very same text.  Plain data only (no imports beyond the standard library):
the Isso seeder runs it under Isso's own interpreter.
"""

from __future__ import annotations

import random

BIG_THREAD = "/posts/the-big-discussion/"
BIG_SIZE = 200
BIG_TOP_LEVEL = 50
SMALL_THREADS = 20
SMALL_SIZE = 50
SMALL_TOP_LEVEL = 13
START = 1_760_000_000.0  # a fixed "a month ago", so runs are comparable

_WORDS = (
    "comment thread reader blog post article server cache query browser widget author moderator "
    "reply answer question idea point detail example version python flask gunicorn sqlite index "
    "latency memory request page script style markdown link quote list code review test build "
    "deploy proxy worker process thread really quite simply perhaps indeed however although "
    "because therefore the a an of to in on for with and but or not this that it is was be"
).split()
_FIRST = ("Ada Alan Barbara Claude Dennis Edsger Frances Grace Hedy John Ken Linus Margaret "
          "Niklaus Radia Rob Sophie Tim Ward Yukihiro").split()
_LAST = "Lovelace Turing Liskov Shannon Ritchie Dijkstra Allen Hopper Lamarr McCarthy".split()


def small_thread_path(number: int) -> str:
    """Path of the ``number``-th (1-based) 50-comment thread."""
    return f"/posts/article-{number:02d}/"


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(6, 16))]
    if rng.random() < 0.2:
        i = rng.randrange(len(words))
        words[i] = f"*{words[i]}*"
    if rng.random() < 0.1:
        i = rng.randrange(len(words))
        words[i] = f"`{words[i]}`"
    return " ".join(words).capitalize() + rng.choice(".?!.")


def _text(rng: random.Random) -> str:
    paragraphs = []
    for _ in range(rng.choice((1, 1, 2, 3))):
        paragraphs.append(" ".join(_sentence(rng) for _ in range(rng.randint(1, 4))))
    if rng.random() < 0.15:
        paragraphs.append(f"See [the docs](https://example.org/docs/{rng.randint(1, 99)}) for more.")
    return "\n\n".join(paragraphs)


def _people(rng: random.Random) -> list[dict]:
    people = []
    for first in _FIRST:
        for last in rng.sample(_LAST, 3):
            people.append({
                "author": f"{first} {last}",
                "email": f"{first}.{last}@example.org".lower(),
                "website": f"https://{last.lower()}.example.net/" if rng.random() < 0.3 else None,
            })
    return people


def _thread(rng, people, path, title, size, top_level, clock):
    # The first comment is top-level; the other top-level ones are spread
    # through the thread, and every reply answers some earlier comment.
    tops = {0, *rng.sample(range(1, size), top_level - 1)}
    comments = []
    for index in range(size):
        parent = None if index in tops else rng.randrange(index)
        person = rng.choice(people)
        clock += rng.uniform(60, 3600)
        comments.append({"index": index, "parent": parent, "text": _text(rng), "created": clock, **person})
    return {"path": path, "title": title, "comments": comments}, clock


def build() -> list[dict]:
    """The big thread first, then the small ones; comments in posting order.

    Each comment's ``parent`` is the index of an earlier comment in the same
    thread, or None for a top-level comment.
    """
    rng = random.Random(20261125)
    people = _people(rng)
    clock = START
    big, clock = _thread(rng, people, BIG_THREAD, "The big discussion", BIG_SIZE, BIG_TOP_LEVEL, clock)
    threads = [big]
    for number in range(1, SMALL_THREADS + 1):
        small, clock = _thread(rng, people, small_thread_path(number), f"Article {number}",
                               SMALL_SIZE, SMALL_TOP_LEVEL, clock)
        threads.append(small)
    return threads


def filler_text(number: int) -> str:
    """Short distinct text for the rows that only make the database big."""
    return f"Filler comment number {number}: it only makes the database larger."


if __name__ == "__main__":
    data = build()
    for thread in data:
        top = sum(1 for c in thread["comments"] if c["parent"] is None)
        print(thread["path"], len(thread["comments"]), "comments,", top, "top-level")
