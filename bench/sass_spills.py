#!/usr/bin/env python3
"""Where a kernel's local-memory spills sit, read from the SASS.

  cuobjdump -sass lib.so > k.sass; python3 bench/sass_spills.py k.sass [SHAPE]

Per function of the dump (only those with an HGMMA shape containing SHAPE,
e.g. 64x128): its HGMMA shapes, its LDL / STL count, and how many of them lie
between its first and its last HGMMA (the main loop's span: a spill there is
paid per key block; one outside it per tile). For FA3 built with CUDA 13's
ptxas, whose causal kernels spill (bench/fa3_ptx.sh: 28 bytes at hdim 64,
12 at hdim 128), and for FlashCore's kernels alike.
"""
import collections
import re
import sys

from sass_overlap import kernels


def main():
    path = sys.argv[1]
    shape = sys.argv[2] if len(sys.argv) > 2 else ""
    for name, ins in kernels(path):
        shapes = collections.Counter(m.group(1) for i in ins
                                     for m in [re.search(r"HGMMA\.(\S+?)\.F32", i)] if m)
        if not shapes or (shape and not any(shape in s for s in shapes)):
            continue
        hg = [k for k, i in enumerate(ins) if "HGMMA" in i]
        spills = [k for k, i in enumerate(ins) if re.match(r"(@!?U?P\w+\s+)?(LDL|STL)\b", i)]
        inside = [k for k in spills if hg[0] < k < hg[-1]]
        print("%s: %d instructions, HGMMA %s, LDL/STL %d (%d between the first and last HGMMA)"
              % (name[:90], len(ins), dict(shapes), len(spills), len(inside)))
        for k in inside[:8]:
            print("   %5d: %s" % (k, ins[k]))


if __name__ == "__main__":
    main()
