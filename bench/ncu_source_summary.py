"""Summarise `ncu --page source --csv --print-source sass` output: for each
profiled kernel, the SASS instructions with the most warp-stall samples, and
the samples summed per opcode, so two kernels (FlashCore's and FA3's) can be
compared instruction by instruction.

  ncu --clock-control none --section SourceCounters --section WarpStateStats \
      -k regex:... -o rep python3 bench/forward_profile.py bf16 128 1 4096
  ncu --import rep.ncu-rep --page source --csv --print-source sass > src.csv
  python3 bench/ncu_source_summary.py src.csv [--top 25] [--loop]

The column holding the samples is found by name ("Warp Stall Sampling (All
Samples)"; ncu 2023+), the instruction by "Source"; a kernel starts where a
header row repeats. Stall reasons per instruction, where the CSV has them
(columns named after smsp__pcsamp_warps_issue_stalled_*), are listed next to
each instruction.

--loop also prints the main loop of each kernel in program order: the
instructions executed as often as its most frequent register-operand HGMMA
(the P V product), runs of one opcode collapsed to OPxN(samples). That shows
where ptxas put the wgmma waits (WARPGROUP) among the softmax's MUFU/FMNMX.
"""
import argparse
import csv
import re
import sys
from collections import Counter


def kernels(rows):
    """Split the CSV rows into (header, data rows) per kernel: ncu writes a
    header row (with "Source") before each kernel's instructions, sometimes
    after a line naming the kernel."""
    out, header, data, name, pending = [], None, [], "", ""
    for row in rows:
        if row and any(c.strip() == "Source" for c in row):
            if header is not None:
                out.append((name, header, data))
            header, data, name = [c.strip() for c in row], [], pending
            continue
        if header is None or len(row) < len(header) // 2:
            if row:
                pending = " ".join(row)[:120]
            continue
        data.append(row)
    if header is not None:
        out.append((name, header, data))
    return out


def number(text):
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return 0.0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("csv")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--loop", action="store_true")
    args = parser.parse_args()
    with open(args.csv, newline="") as f:
        rows = list(csv.reader(f))
    found = kernels(rows)
    if not found:
        print("no source table in %s (was SourceCounters collected?)" % args.csv)
        return 1
    for name, header, data in found:
        col = {h: i for i, h in enumerate(header)}
        samples = next((i for h, i in col.items() if h.startswith("Warp Stall Sampling (All")), None)
        source = col.get("Source")
        if samples is None or source is None:
            print("kernel %s: columns %s lack the samples" % (name, header[:12]))
            continue
        reasons = [(h, i) for h, i in col.items()
                   if re.search(r"stall|Stall", h) and i != samples and "Not-issued" not in h]
        total = sum(number(r[samples]) for r in data if len(r) > samples) or 1.0
        print("=== %s: %d instructions, %d stall samples" % (name or "kernel", len(data), total))
        by_op = Counter()
        for r in data:
            if len(r) > max(samples, source):
                by_op[opcode(r[source])] += number(r[samples])
        print("samples by opcode: " + ", ".join(
            "%s %.1f%%" % (op, 100 * n / total) for op, n in by_op.most_common(12)))
        hot = sorted((r for r in data if len(r) > max(samples, source)),
                     key=lambda r: -number(r[samples]))[:args.top]
        for r in hot:
            why = sorted(((number(r[i]), h) for h, i in reasons if len(r) > i and number(r[i]) > 0),
                         reverse=True)[:3]
            print("%6.2f%%  %-60s %s" % (100 * number(r[samples]) / total, r[source].strip()[:60],
                                         "; ".join("%s %d" % (h[:40], n) for n, h in why)))
        if args.loop:
            print(main_loop(data, col, samples, source))
    return 0


def opcode(text):
    words = text.split()
    if words and words[0].startswith("@"):  # a guard predicate
        words = words[1:]
    return words[0].split(".")[0] if words else "?"


def main_loop(data, col, samples, source):
    """The hottest loop's opcodes in order, runs collapsed: OPxN(samples)."""
    executed = col.get("Instructions Executed")
    if executed is None:
        return "loop: no 'Instructions Executed' column"
    rows = [r for r in data if len(r) > max(samples, source, executed)]
    counts = [number(r[executed]) for r in rows]
    pv = [c for r, c in zip(rows, counts) if "HGMMA" in r[source] and "gdesc" in r[source]
          and re.search(r"HGMMA\S* R\d+, R\d+", r[source])]
    if not pv:
        return "loop: no register-operand HGMMA"
    hot = max(pv)
    runs = []
    for r, c in zip(rows, counts):
        if c != hot:
            continue
        op, n = opcode(r[source]), number(r[samples])
        if runs and runs[-1][0] == op:
            runs[-1][1] += 1
            runs[-1][2] += n
        else:
            runs.append([op, 1, n])
    return "loop (%d executions): %s" % (hot, " ".join(
        "%sx%d(%d)" % (op, k, n) for op, k, n in runs))


if __name__ == "__main__":
    sys.exit(main())
