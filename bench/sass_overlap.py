"""How much of the softmax overlaps the in-flight P V, read from the SASS.

  cuobjdump -sass k.cubin > k.sass; python3 bench/sass_overlap.py k.sass [SHAPE]

Per kernel of the dump (only those with an HGMMA shape containing SHAPE, e.g.
64x176): its HGMMA shapes and, for each `WARPGROUP.DEPBAR.LE gsb0, 0x1` (the
wait for S = Q K^T while P V may still run), the MUFU.EX2 / FMNMX / F2FP /
FMUL / FFMA instructions before the next `DEPBAR.LE gsb0, 0x0` (the wait for
P V) and the EX2 / F2FP / FMUL after it. What sits before the second wait
overlaps P V inside the warpgroup (FA3's intra-warpgroup overlap); ptxas
decides where that wait goes, whatever order the PTX has. Works on FA3's
kernels too (cuobjdump -sass of its _C.abi3.so).
"""
import collections
import re
import sys

BEFORE = ("MUFU.EX2", "FMNMX", "F2FP", "FMUL", "FFMA")
AFTER = ("MUFU.EX2", "F2FP", "FMUL")


def kernels(path):
    """(name, [instruction text]) per `Function :` of a cuobjdump -sass dump."""
    name, lines = None, []
    for line in open(path, errors="replace"):
        m = re.match(r"\s*Function : (\S+)", line)
        if m:
            if name:
                yield name, lines
            name, lines = m.group(1), []
        elif name:
            m = re.match(r"\s*/\*([0-9a-f]{4,})\*/\s+(.*?);", line)
            if m:
                lines.append(m.group(2).strip())
    if name:
        yield name, lines


def count(ins, start, ops, stop):
    """Counts of `ops` from ins[start] up to the first instruction matching stop."""
    c = collections.Counter()
    i = start
    while i < len(ins) and not stop(ins[i]):
        for op in ops:
            if op in ins[i]:
                c[op] += 1
        i += 1
    return c, i


def main():
    path = sys.argv[1]
    shape = sys.argv[2] if len(sys.argv) > 2 else ""
    for name, ins in kernels(path):
        shapes = collections.Counter(re.search(r"HGMMA\.(\S+?)\.F32", i).group(1)
                                     for i in ins if "HGMMA" in i)
        if shape and not any(shape in s for s in shapes):
            continue
        print("%s: %d instructions, HGMMA %s" % (name[:90], len(ins), dict(shapes)))
        i = 0
        while i < len(ins):
            if "DEPBAR.LE gsb0, 0x1" in ins[i]:
                before, j = count(ins, i + 1, BEFORE,
                                  lambda x: "DEPBAR.LE gsb0, 0x0" in x or "HGMMA" in x)
                after, _ = count(ins, j + 1, AFTER, lambda x: "HGMMA" in x or "DEPBAR" in x)
                print("    before wait(0): %s | after: %s" % (
                    " ".join("%s %d" % (op, before[op]) for op in BEFORE),
                    " ".join("%s %d" % (op, after[op]) for op in AFTER)))
                i = j
            i += 1


if __name__ == "__main__":
    main()
