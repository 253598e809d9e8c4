#!/usr/bin/env python3
"""The secrets check, run by the test command after the whole suite: no password, session or remember
cookie, CSRF token, SECRET_KEY or MAIL_PASSWORD the tests used appears in any page, log file, server output or mail
the run produced.

Reads MICROBLOG_TEST_ARTIFACTS as the tests left it (Tests/MicroblogTests/Support/Artifacts.swift):
  secrets.tsv   one "kind<TAB>value" per line
  pages.txt     every page a test browser received, without its Set-Cookie headers
  files/        log files, in-memory log records, server output, mails
A CSRF token belongs in its own form's hidden input, so `name="csrf_token" value="..."` is taken out of pages
first; anywhere else it is a leak. Values shorter than 6 characters are not searched (too likely by chance).
Prints one line per leak (kind, file, context with the value masked) and a summary; exits 1 on any leak, 2 when
the artifacts are missing (the suite did not record anything: the check would prove nothing)."""
import collections
import os
import re
import sys

MINIMUM = 6
PREFIX = 6

folder = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("MICROBLOG_TEST_ARTIFACTS", "")
secrets_path = os.path.join(folder, "secrets.tsv")
if not folder or not os.path.exists(secrets_path) or not os.path.exists(os.path.join(folder, "pages.txt")):
    print(f"secrets check: no artifacts in {folder!r}; was MICROBLOG_TEST_ARTIFACTS set for the test run?")
    sys.exit(2)

secrets = {}
with open(secrets_path, encoding="utf-8", errors="replace") as handle:
    for line in handle:
        kind, _, value = line.rstrip("\n").partition("\t")
        if len(value) >= MINIMUM:
            secrets.setdefault(value, kind)

by_prefix = collections.defaultdict(list)
for value in secrets:
    by_prefix[value[:PREFIX]].append(value)

CSRF_INPUT = re.compile(r'name="csrf_token" value="[^"]*"')


def leaks_in(text):
    """Every (position, secret) in text, found through a dictionary of 6-character prefixes."""
    found = []
    get = by_prefix.get
    for position in range(len(text) - PREFIX + 1):
        candidates = get(text[position:position + PREFIX])
        if candidates:
            for value in candidates:
                if text.startswith(value, position):
                    found.append((position, value))
    return found


files = [os.path.join(folder, "pages.txt")]
files += sorted(os.path.join(root, name) for root, _, names in os.walk(os.path.join(folder, "files")) for name in names)
leaks = 0
scanned = 0
for path in files:
    with open(path, encoding="utf-8", errors="replace") as handle:
        text = handle.read()
    if path.endswith("pages.txt"):
        text = CSRF_INPUT.sub('name="csrf_token" value=""', text)
    scanned += len(text)
    for position, value in leaks_in(text):
        leaks += 1
        context = text[max(0, position - 60):position + len(value) + 60].replace(value, f"<{secrets[value]}>")
        print(f"LEAK {secrets[value]} in {os.path.relpath(path, folder)}: ...{context!r}...")

kinds = collections.Counter(secrets.values())
summary = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
print(f"secrets check: {len(secrets)} secrets ({summary}) searched in {len(files)} files "
      f"({scanned / 1e6:.1f} MB): {leaks} leaks")
sys.exit(1 if leaks else 0)
