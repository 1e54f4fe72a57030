#!/usr/bin/env python3
"""A desk comparison of two kernels' PTX, without a GPU or a disassembler.

  python3 bench/ptx_opmix.py A.ptx B.ptx [--kernel-a N] [--kernel-b N]

For the Nth `.entry` of each file (default 0): its launch directives, the count
of every opcode (moves left out: ptxas renames them away), and its key-block
loops, each cut at a `wgmma.wait_group 1` (S = Q K^T ready while P V may run):
the opcodes between that wait and the loop's `wgmma.wait_group 0` (the
softmax under the in-flight P V) and whether the loop masks (setp + selp per
score). FlashCore's PTX comes from `flashcore-gen emit-ptx`; FA3's from nvcc
-ptx on one of its `hopper/instantiations/*.cu` (bench/fa3_ptx.sh). The same
opcode mix under the P V wait says the two softmaxes do the same work per key
block; where ptxas then places each instruction is for the SASS on a GPU
machine (tests/gpu/device_run.sh sassoverlap).
"""
import argparse
import collections
import re


def entries(path):
    """(name, [lines]) per .entry of a PTX file."""
    text = open(path).read().splitlines()
    starts = [i for i, l in enumerate(text) if re.match(r"^\s*(\.visible\s+)?\.entry\s", l)]
    for k, i in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(text)
        name = re.search(r"\.entry\s+([\w$]+)", text[i]).group(1)
        yield name, text[i:end]


def opcode(line):
    """The opcode of a PTX instruction line (predicate stripped), or None."""
    line = line.strip()
    if not line or line.startswith(("//", ".", "{", "}", "$")) or line.endswith(":"):
        return None
    line = re.sub(r"^@!?%\w+\s+", "", line)
    m = re.match(r"([a-z][\w.:]*)", line)
    if not m:
        return None
    op = m.group(1)
    return None if op.startswith("mov") else op


def mix(lines):
    c = collections.Counter(op for op in map(opcode, lines) if op)
    return c


def loops(lines):
    """The regions from each `wgmma.wait_group.sync.aligned 1` to the next
    `wgmma.wait_group.sync.aligned 0`: the softmax that runs under P V."""
    out, start = [], None
    for i, l in enumerate(lines):
        if re.search(r"wgmma\.wait_group\.sync\.aligned\s+1;", l):
            start = i
        elif re.search(r"wgmma\.wait_group\.sync\.aligned\s+0;", l) and start is not None:
            out.append(lines[start:i + 1])
            start = None
    return out


def short(c, keys=("ex2", "max", "fma", "mul", "sub", "add", "selp", "setp", "cvt", "shfl")):
    parts = []
    for k in keys:
        n = sum(v for op, v in c.items() if op.split(".")[0] == k)
        if n:
            parts.append(f"{k} {n}")
    return ", ".join(parts)


def report(tag, path, index):
    name, lines = list(entries(path))[index]
    head = lines[:next((i for i, l in enumerate(lines) if l.strip() == "{"), len(lines))]
    directives = [l.strip() for l in head if re.match(r"\s*\.(maxntid|reqntid|minnctapersm|maxnreg)", l)]
    c = mix(lines)
    print(f"== {tag}: {path} entry {index}: {name[:100]}")
    print(f"   directives: {'; '.join(directives) or '-'}")
    print(f"   whole kernel ({sum(c.values())} non-move instructions): {short(c)}")
    wg = {op: v for op, v in c.items() if op.startswith("wgmma.mma_async")}
    print(f"   wgmma: {wg}")
    for k, region in enumerate(loops(lines)):
        rc = mix(region)
        masked = "masked" if rc.get("selp.f32", 0) >= 32 else "unmasked"
        print(f"   loop {k} ({masked}), softmax under P V: {short(rc)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--kernel-a", type=int, default=0)
    ap.add_argument("--kernel-b", type=int, default=0)
    args = ap.parse_args()
    report("A", args.a, args.kernel_a)
    report("B", args.b, args.kernel_b)


if __name__ == "__main__":
    main()
