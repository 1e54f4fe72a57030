"""Summarize tests/gpu/test_features.py JSON results as a feature x dtype x head_dim table.

  python3 bench/summarize_features.py bench/results/*features*.json
"""
import collections
import json
import re
import sys


def features(what):
    w = what.split()
    out = []
    if "causal" in w:
        out.append("causal")
    if "win(" in what:
        out.append("window")
    if any(x.startswith("softcap") for x in w):
        out.append("softcap")
    if "varlen" in w:
        out.append("varlen")
    if "bhsd" in w:
        out.append("bhsd")
    m = re.search(r"H(\d+)/(\d+)", what)
    if m and m.group(1) != m.group(2):
        out.append("mqa" if m.group(2) == "1" else "gqa")
    sq = int(re.search(r"Sq(\d+)", what).group(1))
    sk = int(re.search(r"Sk(\d+)", what).group(1))
    if sq != sk:
        out.append("sq!=sk")
    if min(sq, sk) < 128:
        out.append("S<128")
    return " + ".join(out) or "plain"


def main(paths):
    rows, devices = [], set()
    for p in paths:
        data = json.load(open(p))
        devices.add(data["device"])
        rows += data["rows"]
    table = collections.defaultdict(list)
    for r in rows:
        w = r["what"].split()
        table[(features(r["what"]), w[0], int(w[1][1:]))].append(r)
    print("GPU: %s; %d cases, %d passed" % (", ".join(sorted(devices)), len(rows),
                                           sum(bool(r["pass"]) for r in rows)))
    print("| features | dtype | head_dim | cases | max rel err | bar of the worst case | worst ratio | max LSE err | pass |")
    print("|---|---|---|---|---|---|---|---|---|")
    for key in sorted(table):
        rs = [r for r in table[key] if "rel_err" in r]
        if not rs:
            continue
        worst = max(rs, key=lambda r: r["rel_err"] / max(r["bar_err"], 1e-6))
        print("| %s | %s | %d | %d | %.2e | %.2e (%s) | %.2f | %.1e | %s |" % (
            key[0], key[1], key[2], len(table[key]), max(r["rel_err"] for r in rs), worst["bar_err"],
            worst["bar"], worst["rel_err"] / max(worst["bar_err"], 1e-6),
            max(r["lse_max_abs"] for r in rs), "yes" if all(r["pass"] for r in table[key]) else "NO"))


if __name__ == "__main__":
    main(sys.argv[1:])
