#!/usr/bin/env python3
"""Helper of table-entries-ptxas.test: every schedule of specs/dispatch/table.yaml,
on every shipped spec's problem that the entry's match accepts, generates PTX that
ptxas assembles for sm_90a with no spills and no stack frame. Only the problem of
each spec file is kept, since the runtime applies an entry's schedule on top of the
defaults, not on top of a spec file's own schedule. Prints one FAIL line per problem,
then "assembled N kernels for E entries, F failures"; exits 1 on a failure.
  table-entries-ptxas.py TABLE SPECS_DIR FLASHCORE_GEN PTXAS TMP
With --list TABLE SPECS_DIR it assembles nothing and prints, per entry, "SPEC@fields"
for the first matching spec file that has no schedule section of its own (FAIL lines,
for an entry with none, go to stderr and the exit code is 1): the
variants tests/gpu/device_run.sh's sassvar and checkvar stages take
(SASS_VARIANTS="$(python3 tests/gen/table-entries-ptxas.py --list ...)")."""
import pathlib
import re
import subprocess
import sys

listing = sys.argv[1:2] == ["--list"]
if listing:
    table, specs = sys.argv[2:4]
else:
    table, specs, gen, ptxas, tmp = sys.argv[1:6]
    tmp = pathlib.Path(tmp)
    tmp.mkdir(parents=True, exist_ok=True)


def flow_map(text):
    """The scalars of a one-level YAML flow mapping ("{a: 1, b: [x, y]}")."""
    out = {}
    for key, value in re.findall(r"(\w+):\s*(\[[^\]]*\]|[^,}\s]+)", text):
        out[key] = value
    return out


def problem_of(path):
    """The problem section of a spec file, as text and as a field map."""
    lines, fields, inside = [], {}, False
    for line in path.read_text().splitlines():
        if re.match(r"^problem:", line):
            inside = True
        elif inside and re.match(r"^\S", line):
            break
        if inside:
            lines.append(line)
            m = re.match(r"^\s+(\w+):\s*([^#\s]+)", line)
            if m:
                fields[m.group(1)] = m.group(2)
    return "\n".join(lines) + "\n", fields


text = pathlib.Path(table).read_text()
entries = re.findall(r"- name:\s*(\S+).*?match:\s*(\{[^}]*\}).*?schedule:\s*(\{[^}]*\})", text, re.S)
n = failures = 0
for name, match, schedule in entries:
    match, schedule = flow_map(match), flow_map(schedule)
    if not schedule:
        continue
    override = ",".join(f"{k}={v}" for k, v in schedule.items())
    hits = listed = 0
    for spec in sorted(pathlib.Path(specs).glob("*.yaml")):
        body, problem = problem_of(spec)
        if problem.get("kind", "forward") != "forward":
            continue
        if not all(problem.get(k, "false") == v for k, v in match.items()
                   if k not in ("arch", "seqlen")):
            continue
        hits += 1
        if listing:
            if not re.search(r"^schedule:", spec.read_text(), re.M):
                print(f"{spec.name}@{override}")
                listed = 1
                break
            continue
        tag = f"{name}[{spec.stem}]"
        src = tmp / f"{n}.yaml"
        src.write_text(body)
        emit = subprocess.run([gen, "emit-ptx", str(src), f"--schedule={override}",
                               "-o", str(tmp / f"{n}.ptx")], capture_output=True, text=True)
        if emit.returncode:
            print(f"FAIL {tag}: emit-ptx: {emit.stderr.strip()}")
            failures += 1
            continue
        log = subprocess.run([ptxas, "-arch=sm_90a", "-O3", "-v", str(tmp / f"{n}.ptx"),
                              "-o", str(tmp / f"{n}.cubin")], capture_output=True, text=True)
        out = log.stdout + log.stderr
        if log.returncode or "0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads" not in out:
            print(f"FAIL {tag}: ptxas or spills\n{out}")
            failures += 1
        n += 1
    # With --list, stdout holds only variants (scripts word-split it).
    report = sys.stderr if listing else sys.stdout
    if hits == 0:
        print(f"FAIL {name}: no shipped spec matches the entry", file=report)
        failures += 1
    elif listing and not listed:
        print(f"FAIL {name}: every spec it matches has a schedule section", file=report)
        failures += 1
if listing:
    sys.exit(1 if failures else 0)
print(f"assembled {n} kernels for {len(entries)} entries, {failures} failures")
sys.exit(1 if failures else 0)
