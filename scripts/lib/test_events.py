#!/usr/bin/env python3
"""Sums up a Swift Testing event stream (swift test --event-stream-output-path F
--event-stream-version 0): what passed, failed, was skipped and why, and what never finished.

    test_events.py EVENTS [--allow FILE] [--strict]

Per test function: failed if an issue that is not a known issue was recorded for it (or for a
suite above it), skipped if the runner skipped it (itself or its suite), passed if it ended.
A test that started and never ended, or never started in a run that never ended, is counted as
failed: the test process crashed. With --strict (run as root, as CI is), a skipped test that the
allow-list does not name is a failure. The allow-list has one test per line: its id without the
source location (Module.Suite/function(), or Module.Suite for a whole suite), then optionally a
comment after '#' saying why it may skip.

Prints one line per failure and skip, then "N passed, N failed, N skipped"; exits 0 only when
nothing failed.
"""
import json
import re
import sys

LOCATION = re.compile(r"/[^/]+\.swift:\d+:\d+$")


def plain(test_id):
    """The id without its source location: stable across edits of the file."""
    return LOCATION.sub("", test_id or "")


def ancestors(test_id):
    """Suite ids above a test id: 'M.A.B/f()/x.swift:1:2' -> ['M.A.B', 'M.A', 'M']."""
    base = plain(test_id).split("/")[0]
    parts = base.split(".")
    return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]


def first_text(payload):
    for message in payload.get("messages", []):
        text = message.get("text", "")
        if text:
            return text
    return ""


def read_allow_list(path):
    allowed = {}
    if not path:
        return allowed
    with open(path, encoding="utf-8") as f:
        for line in f:
            entry, _, why = line.partition("#")
            entry = entry.strip()
            if entry:
                allowed[entry] = why.strip()
    return allowed


def main(argv):
    args = argv[1:]
    strict = "--strict" in args
    allow_path = None
    if "--allow" in args:
        allow_path = args[args.index("--allow") + 1]
    events_path = args[0]
    allowed = read_allow_list(allow_path)

    functions = {}  # id -> display name
    started, ended, skipped, issues = set(), set(), {}, {}
    run_ended = False
    try:
        stream = open(events_path, encoding="utf-8")
    except OSError as error:
        print(f"FAIL: no event stream from swift test ({events_path}: {error.strerror})")
        print("0 passed, 1 failed, 0 skipped")
        return 1
    with stream:
        for number, line in enumerate(stream, 1):
            try:
                record = json.loads(line)
            except ValueError:
                print(f"FAIL: {events_path}:{number}: not a JSON record (the stream was cut short)")
                continue
            payload = record.get("payload", {})
            if record.get("kind") == "test":
                if payload.get("kind") == "function":
                    functions[payload["id"]] = payload.get("displayName") or payload.get("name")
                continue
            kind, test_id = payload.get("kind"), payload.get("testID")
            if kind == "testStarted":
                started.add(test_id)
            elif kind == "testEnded":
                ended.add(test_id)
            elif kind == "testSkipped":
                skipped[test_id] = first_text(payload)
            elif kind == "issueRecorded" and not payload.get("issue", {}).get("isKnown", False):
                issues.setdefault(test_id, []).append(first_text(payload))
            elif kind == "runEnded":
                run_ended = True

    passed = failed = skipped_count = 0
    for test_id in sorted(functions):
        name = functions[test_id]
        suite_issues = [m for s in ancestors(test_id) for m in issues.get(s, [])]
        own = issues.get(test_id, []) + suite_issues
        if test_id in skipped:
            reason = skipped[test_id]
            entry = next((e for e in [plain(test_id)] + ancestors(test_id) if e in allowed), None)
            if strict and entry is None:
                print(f"FAIL: skipped, and not on the allow-list: {plain(test_id)}: {reason}")
                failed += 1
            else:
                print(f"SKIP: {plain(test_id)}: {reason}")
                skipped_count += 1
        elif own:
            print(f"FAIL: {name} ({plain(test_id)}): {own[0]}")
            failed += 1
        elif test_id in ended:
            passed += 1
        elif test_id in started:
            print(f"FAIL: {name} ({plain(test_id)}): started and never ended (the test process died)")
            failed += 1
        else:
            print(f"FAIL: {name} ({plain(test_id)}): never ran (the test process died before it)")
            failed += 1
    for test_id, messages in issues.items():
        if test_id is None:
            print(f"FAIL: an issue outside any test: {messages[0]}")
            failed += 1
    if not run_ended:
        print("FAIL: the test run never ended (the test process died: see its last lines above)")
        failed += 1
    if not functions:
        print("FAIL: the event stream lists no tests")
        failed += 1
    print(f"{passed} passed, {failed} failed, {skipped_count} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
