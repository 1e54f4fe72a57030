#!/usr/bin/env bash
#===- tests/runtime/cache_cli.sh - The disk cache through flashcore-gen ---===#
#
#   bash cache_cli.sh <flashcore-gen> <specs dir>
#
# CPU only (ptxas, no GPU): a compile writes one entry, a second process
# reads it, `cache list` verifies entries, a damaged entry is reported once
# and rebuilt, an unusable directory degrades to memory-only, FLASHCORE_DUMP
# keeps every stage and the ptxas command, a failing ptxas gives its stderr
# and a repro command, `cache clear` empties the directory.
#
#===----------------------------------------------------------------------===#
set -u
gen=$1
specs=$2
tmp=$(mktemp -d /tmp/flashcore-cache-cli-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export FLASHCORE_CACHE_DIR=$tmp/cache
unset FLASHCORE_DISK_CACHE FLASHCORE_DUMP FLASHCORE_PTXAS
fails=0
check() { # check <description> <command...>: the command must succeed
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fails=$((fails + 1)); fi
}

# Step 1. Cold compile, then a disk hit in a new process.
FLASHCORE_LOG=1 "$gen" emit-cubin "$specs/default.yaml" -o "$tmp/a.cubin" >"$tmp/1.out" 2>"$tmp/1.err"
check "first process compiles" grep -q "compiled in" "$tmp/1.err"
FLASHCORE_LOG=1 "$gen" emit-cubin "$specs/default.yaml" -o "$tmp/b.cubin" >"$tmp/2.out" 2>"$tmp/2.err"
check "second process hits the disk" grep -q "disk hit" "$tmp/2.err"
check "same cubin from disk" cmp -s "$tmp/a.cubin" "$tmp/b.cubin"
check "same resource report from disk" diff <(grep ptxas: "$tmp/1.out") <(grep ptxas: "$tmp/2.out")
check "one entry file" test "$(ls "$FLASHCORE_CACHE_DIR"/*.fckernel | wc -l)" -eq 1
"$gen" cache list >"$tmp/list.out"
check "list shows the kernel" grep -q "bf16 head_dim 128; block_m 128" "$tmp/list.out"
"$gen" cache info >"$tmp/info.out"
check "info names the directory" grep -q "directory: $FLASHCORE_CACHE_DIR (from FLASHCORE_CACHE_DIR)" "$tmp/info.out"

# Step 2. A truncated entry: reported by list, warned once and rebuilt on use.
entry=$(ls "$FLASHCORE_CACHE_DIR"/*.fckernel)
head -c 300 "$entry" >"$tmp/cut" && cp "$tmp/cut" "$entry"
"$gen" cache list >"$tmp/list2.out"
check "list flags the damaged entry" grep -q "INVALID (truncated" "$tmp/list2.out"
"$gen" emit-cubin "$specs/default.yaml" -o "$tmp/c.cubin" >/dev/null 2>"$tmp/3.err"
check "damage is warned about" grep -q "is unusable (truncated.*); rebuilding it" "$tmp/3.err"
check "warned once" test "$(grep -c unusable "$tmp/3.err")" -eq 1
check "rebuilt entry is identical" cmp -s "$tmp/a.cubin" "$tmp/c.cubin"
"$gen" cache list >"$tmp/list3.out"
check "list shows it valid again" bash -c "! grep -q INVALID '$tmp/list3.out'"

# Step 3. A file where the directory should be: memory-only, one warning.
echo x >"$tmp/notadir"
FLASHCORE_CACHE_DIR=$tmp/notadir "$gen" emit-cubin "$specs/default.yaml" -o "$tmp/d.cubin" >/dev/null 2>"$tmp/4.err"
check "unusable directory still compiles" cmp -s "$tmp/a.cubin" "$tmp/d.cubin"
check "memory-only warning" grep -q "kept in memory only" "$tmp/4.err"

# Step 4. FLASHCORE_DUMP keeps every stage and the ptxas command.
FLASHCORE_DISK_CACHE=0 FLASHCORE_DUMP=$tmp/dump "$gen" emit-cubin "$specs/fp16_d128.yaml" -o "$tmp/e.cubin" >/dev/null 2>&1
for suffix in key spec.yaml mlir nvvm.mlir llvm.mlir ll ptx cubin ptxas.cmd ptxas.log log; do
  check "dump has .$suffix" test -s "$(ls "$tmp"/dump/flashcore-*."$suffix" 2>/dev/null | head -1)"
done
check "dump's ptxas command runs" bash -c "cd '$tmp/dump' && eval \"\$(tail -1 flashcore-*.ptxas.cmd)\" >/dev/null 2>&1 && cmp -s flashcore-*.cubin '$tmp/e.cubin'"

# Step 5. A failing ptxas: its stderr and a repro command.
printf '#!/bin/sh\ncase "$1" in --version) echo "Cuda compilation tools, release 99.0, V99.0.1";; *) echo "ptxas fatal: fake failure" >&2; exit 2;; esac\n' >"$tmp/ptxas"
chmod +x "$tmp/ptxas"
FLASHCORE_PTXAS=$tmp/ptxas "$gen" emit-cubin "$specs/default.yaml" -o "$tmp/f.cubin" >/dev/null 2>"$tmp/5.err"
check "ptxas stderr is reported" grep -q "ptxas fatal: fake failure" "$tmp/5.err"
check "repro command is printed" grep -q "Repro command: .*ptxas -arch=sm_90a -O3 -v" "$tmp/5.err"

# Step 6. Clear.
"$gen" cache clear >"$tmp/clear.out"
check "clear removes the entries" grep -q "removed 1 entries" "$tmp/clear.out"
check "directory is empty" test -z "$(ls -A "$FLASHCORE_CACHE_DIR")"

echo "$fails failures"
[ "$fails" -eq 0 ]
