"""Seed Isso's database through Isso's own storage layer (run by Isso's venv).

Usage: ISSO_SETTINGS=isso.cfg python seed_isso.py

Going through ``isso.db`` rather than raw SQL keeps Isso's own rules (such
as flattening replies to one level) and schema; it is what Isso's importers
do too.  Comments are stored published (mode 1), as with moderation off.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from isso import config
from isso.db import SQLite3

import dataset


def main() -> None:
    conf = config.load(config.default_file(), os.environ["ISSO_SETTINGS"])
    db = SQLite3(conf.get("general", "dbpath"), conf)
    for thread in dataset.build():
        uri = thread["path"]
        if uri not in db.threads:
            db.threads.new(uri, thread["title"])
        ids = {}
        for c in thread["comments"]:
            row = db.comments.add(uri, {
                "parent": ids.get(c["parent"]),
                "text": c["text"],
                "author": c["author"],
                "email": c["email"],
                "website": c["website"],
                "created": c["created"],
                "mode": 1,
                "remote_addr": "127.0.0.0",
                "notification": 0,
            })
            ids[c["index"]] = row["id"]
    total = db.execute("SELECT count(*) FROM comments").fetchone()[0]
    print(f"isso: {total} comments seeded")


if __name__ == "__main__":
    main()
