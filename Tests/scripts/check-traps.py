#!/usr/bin/env python3
"""Fails when a construct that can trap on outside data is in the server library's sources.

Outside data (database rows, cookies, headers, forms, files) must be decoded through throwing paths. This guard
scans Sources/Microblog (or the folders given) for:

  - GRDB's trapping row subscripts, in any file that imports GRDB: `row["name"]`, `row[0]` (a subscript by a string
    or integer literal). Never allowed: use SQLiteRowReader, or GRDB's throwing `decode(_:forColumn:)`.
  - `try!`, `as!`, a force unwrap (`x!`), `fatalError(`, `precondition(`, `preconditionFailure(`, `assert(`,
    `assertionFailure(`, `.unsafelyUnwrapped`. Allowed only for an internal invariant that no outside value can
    reach, said in a comment `// invariant: <why it holds>` on the same line or the line above.

Usage: check-traps.py [FOLDER ...]     (default: Sources/Microblog)
       check-traps.py --self-test      (plants each construct in a copy of a clean file and expects a finding)
"""
import os
import re
import sys
import tempfile

TRAPS = [
    (re.compile(r"\btry!"), "try!"),
    (re.compile(r"\bas!"), "as!"),
    # A postfix `!` after an identifier, `)`, `]` or `>`, not `!=`: a force unwrap.
    (re.compile(r"(?<=[\w\)\]>])!(?!=)"), "force unwrap"),
    (re.compile(r"\bfatalError\s*\("), "fatalError"),
    (re.compile(r"\bprecondition(Failure)?\s*\("), "precondition"),
    (re.compile(r"\bassert(ionFailure)?\s*\("), "assert"),
    (re.compile(r"\.unsafelyUnwrapped\b"), "unsafelyUnwrapped"),
]
ROW_SUBSCRIPT = re.compile(r"[\w\)\]\?]\s*\[\s*(\"[^\"]*\"|\d+)\s*\]")
INVARIANT = re.compile(r"//\s*invariant:\s*\S")


def code_only(line):
    """The line without its comment and without the contents of its string literals (single-line ones)."""
    out, i, in_string = [], 0, False
    while i < len(line):
        c = line[i]
        if in_string:
            if c == "\\":
                i += 2
                continue
            if c == '"':
                in_string = False
                out.append('"')
            i += 1
            continue
        if line.startswith("//", i):
            break
        if c == '"':
            in_string = True
            out.append('"')
        else:
            out.append(c)
        i += 1
    return "".join(out)


def scan_file(path):
    findings = []
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    imports_grdb = any(re.match(r"\s*import\s+GRDB\b", l) for l in lines)
    in_block_string = False
    in_block_comment = False
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if in_block_comment:
            if "*/" in line:
                in_block_comment = False
            continue
        if stripped.startswith("/*"):
            in_block_comment = "*/" not in stripped
            continue
        if stripped.count('"""') % 2 == 1:
            in_block_string = not in_block_string
            if not in_block_string:
                continue
        if in_block_string:
            continue
        code = code_only(line)
        if imports_grdb:
            # A literal subscript keeps its quotes in `code` (the contents are blanked), so match on the raw line too.
            raw = line.split("//")[0]
            if ROW_SUBSCRIPT.search(raw) and ROW_SUBSCRIPT.search(code.replace('""', '"x"')):
                findings.append((path, number, "row subscript (traps on a value it cannot convert)", line.strip()))
        for pattern, name in TRAPS:
            if pattern.search(code):
                previous = lines[number - 2] if number >= 2 else ""
                if INVARIANT.search(line) or INVARIANT.search(previous):
                    continue
                findings.append((path, number, name + " without an '// invariant:' comment", line.strip()))
    return findings


def scan(folders):
    findings = []
    for folder in folders:
        for root, _, files in os.walk(folder):
            for name in sorted(files):
                if name.endswith(".swift"):
                    findings += scan_file(os.path.join(root, name))
    return findings


def self_test():
    clean = 'import GRDB\n\nfunc f(row: Row, rows: [Row]) throws -> Date {\n    let ok = a != b\n    let s = "wow!" // fine!\n    return try row.decode(Date.self, forColumn: "last_seen")\n}\n'
    plants = {
        "try! on row data": '    let d: Date = try! row.decode(forColumn: "last_seen")\n',
        "row subscript by name": '    let d: Date = row["last_seen"]\n',
        "row subscript by index": "    let n: Int = rows[0][1]\n",
        "force unwrap": "    let u = rows.first!\n",
        "as!": "    let n = value as! Int\n",
        "fatalError": '    fatalError("bad row")\n',
    }
    failures = 0
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "Planted.swift")
        with open(path, "w") as f:
            f.write(clean)
        if scan([folder]):
            print("self-test: the clean file was flagged:", scan([folder]))
            failures += 1
        for name, line in plants.items():
            with open(path, "w") as f:
                f.write(clean.replace("    return", line + "    return"))
            if not scan([folder]):
                print("self-test: not caught:", name)
                failures += 1
        with open(path, "w") as f:
            f.write(clean.replace("    return", "    // invariant: the literal is a valid name\n    let n = Name(\"x\")!\n    return"))
        if scan([folder]):
            print("self-test: an explained invariant was flagged")
            failures += 1
    print("check-traps self-test:", "ok" if failures == 0 else f"{failures} failed", f"({len(plants)} planted constructs)")
    return failures == 0


def main():
    args = sys.argv[1:]
    if args == ["--self-test"]:
        sys.exit(0 if self_test() else 1)
    folders = args or ["Sources/Microblog"]
    findings = scan(folders)
    for path, number, what, text in findings:
        print(f"{path}:{number}: {what}: {text}")
    if findings:
        print(f"check-traps: {len(findings)} construct(s) that can trap on outside data; decode through a throwing path")
        sys.exit(1)
    print(f"check-traps: ok ({', '.join(folders)})")


if __name__ == "__main__":
    main()
