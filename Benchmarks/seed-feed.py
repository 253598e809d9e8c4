#!/usr/bin/env python3
"""Fill an existing, already-migrated microblog SQLite database with a large feed, for page-depth benchmarks.

    python3 Benchmarks/seed-feed.py DB_PATH [--users 100000] [--posts 1000000] [--heavy-posts 100000]

Start the server once on DB_PATH (it creates and migrates the file), stop it, then run this. It refuses a file
without the `post` table and a database that already holds a user named `user1` or `heavy`.

It adds users `user1`..`userN` (email `userN@example.com`, password_hash 'x': they never log in) and one user
`heavy`, then `--posts` posts: `--heavy-posts` of them by `heavy`, scattered over the timeline, the rest spread
round-robin over user1..userN. Post timestamps are UTC 'YYYY-MM-DD HH:MM:SS.SSS' text (the format the server
stores), non-decreasing with the id, ending a minute before now, with about 5% of posts sharing their
predecessor's timestamp (so the (timestamp, id) order is exercised). Everything is one transaction of
executemany inserts with journal_mode=WAL and synchronous=OFF; then ANALYZE and a WAL checkpoint.
Deterministic (fixed random seed) apart from the clock. Python 3 stdlib only.
"""
import argparse
import datetime
import random
import sqlite3
import sys
import time


def main():
    parser = argparse.ArgumentParser(description="Seed a migrated microblog SQLite database with a large feed.")
    parser.add_argument("db", metavar="DB_PATH")
    parser.add_argument("--users", type=int, default=100_000, help="light users user1..userN (default 100000)")
    parser.add_argument("--posts", type=int, default=1_000_000, help="posts in all (default 1000000)")
    parser.add_argument("--heavy-posts", type=int, default=100_000, help="of which by the user 'heavy' (default 100000)")
    args = parser.parse_args()
    if args.users < 1 or args.posts < 0 or not 0 <= args.heavy_posts <= args.posts:
        parser.error("need --users >= 1 and 0 <= --heavy-posts <= --posts")

    started = time.monotonic()
    try:
        # mode=rw: never create a new file.
        db = sqlite3.connect(f"file:{args.db}?mode=rw", uri=True, isolation_level=None)
    except sqlite3.Error as error:
        sys.exit(f"seed-feed: cannot open {args.db}: {error}")
    tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not {"post", "user"} <= tables:
        sys.exit(f"seed-feed: {args.db} has no post/user table; start the server on it once to migrate it first")
    taken = db.execute("SELECT username FROM user WHERE username_key IN ('user1', 'heavy')").fetchall()
    if taken:
        sys.exit(f"seed-feed: {args.db} already holds {', '.join(name for (name,) in taken)}; seed a fresh database")

    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-262144")  # 256 MiB, for the (user_id, timestamp) index's scattered inserts
    db.execute("PRAGMA temp_store=MEMORY")

    rng = random.Random(20261206)
    first_user_id = db.execute("SELECT coalesce(max(id), 0) + 1 FROM user").fetchone()[0]
    first_post_id = db.execute("SELECT coalesce(max(id), 0) + 1 FROM post").fetchone()[0]
    heavy_id = first_user_id + args.users

    # Timestamps: steps of 0..2000 ms (0 about 5% of the time), ending a minute before now.
    steps = [0 if rng.random() < 0.05 else rng.randint(1, 2000) for _ in range(args.posts)]
    end_ms = int(time.time() * 1000) - 60_000
    start_ms = end_ms - sum(steps)
    second_text = {}  # whole second -> 'YYYY-MM-DD HH:MM:SS'

    def stamp(ms):
        seconds, millis = divmod(ms, 1000)
        text = second_text.get(seconds)
        if text is None:
            text = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
            second_text[seconds] = text
        return f"{text}.{millis:03d}"

    heavy_slots = set(rng.sample(range(args.posts), args.heavy_posts))
    last_seen = stamp(end_ms)

    def users():
        for n in range(1, args.users + 1):
            name, email = f"user{n}", f"user{n}@example.com"
            yield (first_user_id + n - 1, name, name.lower(), email, email.lower(), "x", None, last_seen)
        yield (heavy_id, "heavy", "heavy", "heavy@example.com", "heavy@example.com", "x", None, last_seen)

    def posts():
        ms = start_ms
        light = 0
        for i in range(args.posts):
            ms += steps[i]
            if i in heavy_slots:
                author = heavy_id
            else:
                author = first_user_id + light % args.users
                light += 1
            yield (first_post_id + i, f"post {first_post_id + i}", stamp(ms), author)

    db.execute("BEGIN")
    try:
        db.executemany(
            "INSERT INTO user (id, username, username_key, email, email_key, password_hash, about_me, last_seen)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", users())
        db.executemany('INSERT INTO post (id, body, "timestamp", user_id) VALUES (?, ?, ?, ?)', posts())
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    loaded = time.monotonic()
    db.execute("ANALYZE")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    done = time.monotonic()
    print(f"seed-feed: {args.users + 1} users, {args.posts} posts ({args.heavy_posts} by heavy) in {args.db}: "
          f"{done - started:.1f} s (load {loaded - started:.1f} s, ANALYZE + checkpoint {done - loaded:.1f} s)")


if __name__ == "__main__":
    main()
