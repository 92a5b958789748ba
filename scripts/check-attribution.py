#!/usr/bin/env python3
"""Compare lockstorm's deadlock attribution with the server's own reports.

usage: scripts/check-attribution.py RESULT_DIR SERVER_LOG [--show N]

RESULT_DIR is a lockstorm result directory holding deadlock-events.csv;
SERVER_LOG is the PostgreSQL server log (stderr format, any log_line_prefix,
English messages) covering the run. Each deadlock in the file is matched with
the log's report of the same cycle (same PIDs, locks and modes, in order);
each participant lockstorm named (certainty server-log or inferred) is a hit
when its SQL is the query the log names for its PID, a miss otherwise;
uncertain participants are counted apart. Exits 1 when there is a miss,
2 on bad input. Python 3 standard library only.
"""
import csv
import re
import sys
from collections import defaultdict, deque

EDGE = re.compile(r"^Process (\d+) waits for (\S+) on (.+); blocked by process (\d+)\.$")
QUERY = re.compile(r"^Process (\d+): (.*)$")
FIELDS = ("DETAIL:  ", "HINT:  ", "CONTEXT:  ", "STATEMENT:  ")
MARKER = "ERROR:  deadlock detected"
# A deadlock found while a statement opens its relations carries the cursor
# position: "deadlock detected at character 13".
MARKER_LINE = re.compile(r"^(.*)" + re.escape(MARKER) + r"(?: at character [0-9]+)?$")


def read_log(path):
    """The deadlock reports of a stderr log: (edges, {pid: query}) in order."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        lines = handle.read().split("\n")
    reports = []
    i = 0
    while i < len(lines):
        line = lines[i].rstrip("\r")
        found = None if line.startswith("\t") else MARKER_LINE.match(line)
        if not found:
            i += 1
            continue
        prefix = found.group(1)
        i += 1
        detail = None
        while i < len(lines):
            current = lines[i].rstrip("\r")
            rest = current[len(prefix):] if current.startswith(prefix) else None
            field = next((f for f in FIELDS if rest is not None and rest.startswith(f)), None)
            if field is None:
                break
            body = [rest[len(field):]]
            i += 1
            while i < len(lines) and lines[i].startswith("\t"):
                body.append(lines[i].rstrip("\r")[1:])
                i += 1
            if field == "DETAIL:  " and detail is None:
                detail = body
        if detail:
            report = parse_detail(detail)
            if report:
                reports.append(report)
    return reports


def parse_detail(lines):
    edges = []
    index = 0
    while index < len(lines):
        match = EDGE.match(lines[index].strip())
        if not match:
            break
        edges.append((int(match.group(1)), f"{match.group(2)} on {match.group(3)}"))
        index += 1
    if not edges:
        return None
    pids = {pid for pid, _ in edges}
    queries, current = {}, None
    for line in lines[index:]:
        match = QUERY.match(line)
        if match and int(match.group(1)) in pids and int(match.group(1)) not in queries:
            current = int(match.group(1))
            queries[current] = match.group(2)
        elif current is not None:
            queries[current] += "\n" + line
    queries = {pid: q for pid, q in queries.items() if not (q.startswith("<") and q.endswith(">") and "\n" not in q)}
    return tuple(edges), queries


def trimmed(text):
    return text.strip().rstrip(";").strip()


def same_text(sent, logged):
    sent, logged = trimmed(sent), trimmed(logged)
    return sent == logged or (len(logged.encode()) >= 1000 and sent.startswith(logged))


def read_events(directory):
    path = f"{directory.rstrip('/')}/deadlock-events.csv"
    events = defaultdict(list)
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            events[int(row["event"])].append(row)
    return [sorted(rows, key=lambda r: int(r["position"])) for _, rows in sorted(events.items())]


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    show = 10
    if "--show" in argv:
        try:
            show = int(argv[argv.index("--show") + 1])
            args.remove(argv[argv.index("--show") + 1])
        except (IndexError, ValueError):
            print("check-attribution: --show needs a number", file=sys.stderr)
            return 2
    if len(args) != 2:
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        events = read_events(args[0])
        reports = read_log(args[1])
    except (OSError, KeyError, ValueError) as error:
        print(f"check-attribution: {error}", file=sys.stderr)
        return 2
    by_cycle = defaultdict(deque)
    for edges, queries in reports:
        by_cycle[edges].append(queries)
    counts = defaultdict(int)
    misses = []
    for rows in events:
        edges = tuple((int(r["pid"]), r["waits_for"]) for r in rows)
        queue = by_cycle.get(edges)
        if not queue:
            counts["no_report"] += 1
            continue
        queries = queue.popleft()
        counts["deadlocks"] += 1
        exact = True
        for row in rows:
            pid = int(row["pid"])
            if row["certainty"] == "uncertain":
                counts["uncertain"] += 1
                exact = False
            elif pid not in queries:
                counts["unchecked"] += 1
                exact = False
            elif same_text(row["sql"], queries[pid]):
                counts["hits"] += 1
            else:
                counts["misses"] += 1
                exact = False
                misses.append(f"event {row['event']} pid {pid}: lockstorm says {row['template']} step {row['step'] or '?'}: "
                              f"{row['sql']!r}; the server log says {queries[pid]!r}")
        counts["exact_deadlocks"] += exact
    participants = counts["hits"] + counts["misses"] + counts["uncertain"] + counts["unchecked"]
    deadlocks = counts["deadlocks"]

    def pct(part, whole):
        return f"{100.0 * part / whole:5.1f} %" if whole else "    - "

    print(f"deadlocks compared    {deadlocks:6d}   (in the file without a report in the log: {counts['no_report']})")
    print(f"  every participant right {counts['exact_deadlocks']:6d}   {pct(counts['exact_deadlocks'], deadlocks)}")
    print(f"participants          {participants:6d}")
    print(f"  hits                {counts['hits']:6d}   {pct(counts['hits'], participants)}")
    print(f"  misses              {counts['misses']:6d}   {pct(counts['misses'], participants)}")
    print(f"  uncertain           {counts['uncertain']:6d}   {pct(counts['uncertain'], participants)}")
    if counts["unchecked"]:
        print(f"  unchecked           {counts['unchecked']:6d}   (the log hides their query)")
    for line in misses[:show]:
        print("miss: " + line)
    return 1 if counts["misses"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
