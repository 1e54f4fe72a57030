#!/usr/bin/env python3
"""Writes candidate dispatch tables for session 22: specs/dispatch/table.yaml with
schedule fields added to every dynamic_persistent entry (FLASHCORE_DISPATCH_TABLE
on the device, no rebuild)."""
import re, sys, pathlib
src = pathlib.Path("specs/dispatch/table.yaml").read_text()
out = pathlib.Path(sys.argv[0]).parent
variants = {
    "all3": "prefetch_q: true, late_tile_claim: true, producer_decodes_tiles: true",
    "pq": "prefetch_q: true",
    "late": "late_tile_claim: true",
    "decodes": "producer_decodes_tiles: true",
    "pq-late": "prefetch_q: true, late_tile_claim: true",
    "pq-decodes": "prefetch_q: true, producer_decodes_tiles: true",
    "late-decodes": "late_tile_claim: true, producer_decodes_tiles: true",
}
pat = re.compile(r"schedule: \{([^}]*)\}", re.S)
for name, fields in variants.items():
    n = 0
    def add(m):
        global n
        if "dynamic_persistent" not in m.group(1):
            return m.group(0)
        n += 1
        return "schedule: {" + m.group(1) + ", " + fields + "}"
    text = pat.sub(add, src)
    (out / f"table-{name}.yaml").write_text(text)
    print(name, n, "entries")
