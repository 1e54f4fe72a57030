#!/usr/bin/env python3
"""A candidate dispatch table for session 22's device calls (FLASHCORE_DISPATCH_TABLE, no rebuild):

  make_tables.py OUT.yaml DYNAMIC_FIELDS [ALL_FIELDS]

specs/dispatch/table.yaml with DYNAMIC_FIELDS ("a: true, b: true") added to every dynamic_persistent
entry's schedule and ALL_FIELDS to every entry with overlap: true."""
import pathlib
import re
import sys

out, dyn = sys.argv[1], sys.argv[2]
every = sys.argv[3] if len(sys.argv) > 3 else ""
src = pathlib.Path("specs/dispatch/table.yaml").read_text()
counts = [0, 0]


def add(m):
    body = m.group(1)
    extra = []
    if dyn and "dynamic_persistent" in body:
        extra.append(dyn)
        counts[0] += 1
    if every and "overlap: true" in body:
        extra.append(every)
        counts[1] += 1
    return "schedule: {" + ", ".join([body] + extra) + "}" if extra else m.group(0)


pathlib.Path(out).write_text(re.sub(r"schedule: \{([^}]*)\}", add, src, flags=re.S))
print(f"{out}: {counts[0]} dynamic entries, {counts[1]} overlap entries")
