#!/usr/bin/env bash
# One device lease, everything that belongs together: environment, the
# flashcore-gen run checks, SASS, the correctness suite, the benchmark.
#   bash tests/gpu/device_run.sh [stage ...]   stages: env run sass suite quick features sanitize bench
#                                              multigpu (2 GPUs) cache2proc latency triton example
#                                              pyinstall pyapi hf hosttime hfbench decodebench fa3 fa3wait
#                                              sandecode decodesass fallback randargs sanall soak large
#                                              ring multigpu_ring (all GPUs, torchrun) tilesweep
#                                              ablation sassvar sassoverlap sanvar compare decodesweep
#                                              decodencu fwdncu fwdncusrc checkvar pairs fa3spills
# pyinstall builds and installs the Python package for the device's python3
# into /tmp/site (the README's pip command) and puts it on PYTHONPATH; fa3
# starts the FA3 build (.peers/, see docs/PERFORMANCE.md) in the background,
# fa3wait waits for it and sets FA3_PATH.
# Uses build/ as carried (build/lib, build/bin); writes logs under $OUT.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUT:-/tmp/flashcore-out}
mkdir -p "$out"
export FLASHCORE_LIB="$root/build/lib/libflashcore.so"
export FLASHCORE_BUILD_DIR="$root/build"
export PYTHONUNBUFFERED=1
# Debian copies of libz/libzstd, in case the image lacks them.
export LD_LIBRARY_PATH="$root/build/syslib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
gen="$root/build/bin/flashcore-gen"
stages=${*:-env run sass quick bench}
t() { timeout -s KILL "$@"; }
# split_variant DEFAULT_SPEC [SPEC@]FIELDS: sets spec (DEFAULT_SPEC unless
# named) and fields.
split_variant() {
  spec=$1; fields=$2
  case $2 in *@*) spec=${2%%@*}; fields=${2#*@} ;; esac
}
# emit_variant [SPEC@]FIELDS: the kernel of specs/SPEC (default.yaml) with the
# schedule overrides FIELDS (- = none) as /tmp/v.cubin; sets spec and fields.
emit_variant() {
  split_variant default.yaml "$1"
  local sched=(); [ "$fields" != - ] && sched=(--schedule="$fields")
  t 60 "$gen" emit-cubin "$root/specs/$spec" "${sched[@]}" -o /tmp/v.cubin >/dev/null
}
# The FA3 build folder of FA3_MODE and FA3_PTXAS.
fa3dir() { echo "/tmp/fa3-${FA3_MODE:-protocol}${FA3_PTXAS:+-ptxas$(echo "$FA3_PTXAS" | cksum | cut -d' ' -f1)}"; }
for stage in $stages; do
  echo "=================== $stage"
  case $stage in
    env)
      nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,power.draw --format=csv
      ldd "$FLASHCORE_LIB" | grep -E "not found|zstd|libz" ;;
    run)
      for spec in default bf16_d128_causal fp16_d128 fp16_d128_causal; do
        t 120 "$gen" run "$root/specs/$spec.yaml" --batch 2 --heads 8 --seqlen 1024 --check-rows 64
        t 120 "$gen" run "$root/specs/$spec.yaml" --batch 1 --heads 4 --seqlen 1000 --seqlen-k 777 --check-rows 0
      done ;;
    sass)
      t 60 "$gen" emit-cubin "$root/specs/default.yaml" -o "$out/default.cubin"
      cuobjdump -sass "$out/default.cubin" > "$out/default.sass"
      grep -o -E "UTMALDG[.A-Z0-9]*|HGMMA[.A-Z0-9x]*|USETMAXREG[.A-Z0-9]*|SYNCS[.A-Z0-9]*|MUFU.EX2|LDL|STL|WARPGROUP[.A-Z]*" \
        "$out/default.sass" | sort | uniq -c ;;
    quick)
      t 600 python3 "$root/tests/gpu/test_attention.py" --quick --json "$out/quick.json" ;;
    features)
      t 900 python3 "$root/tests/gpu/test_features.py" --json "$out/features.json" ${FEATURE_ARGS:-} ;;
    suite)
      t 1200 python3 "$root/tests/gpu/test_attention.py" --json "$out/suite.json" ;;
    sanitize)
      t 900 bash "$root/tests/gpu/sanitize.sh" "$gen" "$root/specs/default.yaml" ;;
    bench)
      # The 72 FA3-protocol rows (FA3 too after fa3wait); for the full report
      # BENCH_ENV="GEMM=1 REPEATS=5 EXTRA=gqa,odd" (plots land in $out).
      t 900 env OUT="$out" ${BENCH_ENV:-} python3 "$root/bench/bench_attention.py" ;;
    multigpu)
      t 900 python3 "$root/tests/gpu/test_multigpu.py" --json "$out/multigpu.json" ;;
    cache2proc)
      t 2400 python3 "$root/tests/gpu/test_cache_two_process.py" ${CACHE2PROC_ARGS:-} --json "$out/cache2proc.json" ;;
    latency)
      t 300 "$root/build/bin/flashcore-latency" --json "$out/latency.json" ;;
    triton)
      t 900 env FLASHCORE_LATENCY="$root/build/bin/flashcore-latency" \
        python3 "$root/bench/triton_compile.py" --json "$out/triton.json" ;;
    example)
      t 600 bash "$root/tests/runtime/example_install.sh" "$root/build" "$root" --run ;;
    featvar)
      # FEATURE_VARIANTS: FLASHCORE_SCHEDULE values separated by ';'.
      IFS=';' read -ra variants <<< "${FEATURE_VARIANTS:-scheduler=static_persistent}"
      for v in "${variants[@]}"; do
        echo "------- FLASHCORE_SCHEDULE=$v"
        t ${FEATURE_TIMEOUT:-240} env FLASHCORE_SCHEDULE="$v" python3 "$root/tests/gpu/test_features.py" \
          --random ${FEATURE_RANDOM:-2} --json "$out/features-$(echo "$v" | tr -c 'a-z0-9\n' '-').json" |
          grep -E "FAIL|n/a|cases passed|override"
      done ;;
    ablation)
      # Each schedule technique alone against the default, one process.
      t ${ABLATION_T:-480} python3 "$root/bench/schedule_ablation.py" --json "$out/ablation.json" \
        ${ABLATION_ARGS:-} ;;
    compare)
      xz -dc "$root/.peers/libflashcore-before.so.xz" > /tmp/libflashcore-before.so
      t 480 python3 "$root/bench/compare_libs.py" /tmp/libflashcore-before.so "$FLASHCORE_LIB" \
        --json "$out/compare.json" ${COMPARE_ARGS:-} ;;
    checkvar)
      # fp64 checks (flashcore-gen run: NaN-prefilled O and LSE, unwritten
      # rows counted) of CHECK_VARIANTS, each SPEC@fields as sassvar's, on
      # CHECK_SHAPE (default: several tiles per CTA and a tail); 90 s each,
      # none started with under 60 s of DEVICE_LIMIT left.
      for v in ${CHECK_VARIANTS:-bf16_d128_causal.yaml@-}; do
        split_variant default.yaml "$v"
        sched=(); [ "$fields" != - ] && sched=(--schedule="$fields")
        [ $(( ${DEVICE_LIMIT:-540} - SECONDS )) -lt 60 ] && { echo "== skip $spec $fields (no time)"; continue; }
        echo "== $spec $fields"
        t 90 "$gen" run "$root/specs/$spec" "${sched[@]}" ${CHECK_SHAPE:---batch 2 --heads 16 --seqlen 3000 --check-rows 96} \
          > /tmp/checkvar.log 2>&1
        rc=$?
        grep -E "^kernel|^check|FAIL|PASS|rror|TFLOPS|skipped" /tmp/checkvar.log | cut -c1-200
        [ $rc -ne 0 ] && echo "exit code $rc$([ $rc -eq 137 ] && echo ': killed after 90 s')"
      done ;;
    pairs)
      # Paired ablations: FlashCore against itself under a schedule override
      # (compare_libs.py --self --after-schedule, 5 paired repeats), one per
      # line of PAIRS: "NAME FIELDS compare_libs-args...". Stops starting new
      # ones when fewer than 25 s of DEVICE_LIMIT (seconds since this script
      # began; default 540) are left. Each row's JSON line is printed as it
      # comes, so a pair cut at the limit keeps the rows it finished.
      while read -r name fields args; do
        [ -z "$name" ] && continue
        left=$(( ${DEVICE_LIMIT:-540} - SECONDS ))
        [ $left -lt 25 ] && { echo "== skip $name $fields (no time)"; continue; }
        echo "== $name $fields"
        # shellcheck disable=SC2086
        t $left python3 "$root/bench/compare_libs.py" "$FLASHCORE_LIB" "$FLASHCORE_LIB" --self \
          --after-schedule "$fields" --repeats 5 $args \
          --json "$out/pair-$name-$(echo "$fields" | tr -c 'a-z0-9\n' '-' | cut -c1-60).json" 2>&1 |
          grep -E '^\{"dtype"|geomean|rror' | cut -c1-260
      done <<< "${PAIRS:-}" ;;
    sassvar)
      # SASS_VARIANTS: schedule overrides separated by spaces (- = none), each
      # optionally SPEC@fields for another spec of specs/ (default.yaml).
      for v in ${SASS_VARIANTS:-- scheduler=static_persistent epilogue=tma overlap=true}; do
        rm -f /tmp/v.cubin
        emit_variant "$v" || { echo "== $v: emit-cubin failed"; continue; }
        echo "== $spec $fields: $(cuobjdump -sass /tmp/v.cubin | grep -o -E "HGMMA[.A-Z0-9x]*|UTMASTG[.A-Z0-9]*|UTMALDG[.A-Z0-9]*|STSM[.A-Z0-9]*|LDL|STL|WARPGROUP.ARRIVE|WARPGROUP.DEPBAR[.A-Z0-9]*|BAR.ARV|BAR.SYNC[.A-Z0-9]*|VOTE[.A-Z]*|USETMAXREG[.A-Z0-9]*" | sort | uniq -c | tr '\n' ' ')"
        cuobjdump -res-usage /tmp/v.cubin | grep -o -E "REG:[0-9]+|STACK:[0-9]+|LOCAL:[0-9]+" | tr '\n' ' '; echo
      done ;;
    sassoverlap)
      # How much softmax sits between the S wait and the P V wait in the SASS
      # (bench/sass_overlap.py) for SASS_VARIANTS (as sassvar: SPEC@fields).
      for v in ${SASS_VARIANTS:-default.yaml@block_n=192,pingpong=true,overlap=true,epilogue=tma}; do
        emit_variant "$v"
        cuobjdump -sass /tmp/v.cubin > /tmp/v.sass
        echo "== $spec $fields"; python3 "$root/bench/sass_overlap.py" /tmp/v.sass
      done ;;
    sanvar)
      # compute-sanitizer on the new schedule variants (small shape with tails,
      # several tiles per CTA for the persistent scheduler: 600 query rows x 4
      # heads on a grid capped by the SMs). A variant may name its spec of
      # specs/ as SPEC@fields (default bf16_d128_causal.yaml).
      for v in ${SANVAR_VARIANTS:-scheduler=static_persistent,epilogue=tma,overlap=true epilogue=tma}; do
        split_variant bf16_d128_causal.yaml "$v"
        for tool in memcheck racecheck synccheck; do
          echo "== $tool $spec $fields"
          t 120 compute-sanitizer --tool $tool --error-exitcode 99 "$gen" run \
            "$root/specs/$spec" --schedule="$fields" --batch 3 --heads 4 \
            --seqlen 600 --check-rows 0 --repeats 1 2>&1 | tail -3
        done
      done ;;
    sandecode)
      # compute-sanitizer on the decode kernels (split-KV, combine, paged).
      for tool in ${SANDECODE_TOOLS:-memcheck racecheck synccheck}; do
        echo "== $tool sanitize_decode.py"
        t ${SANDECODE_T:-240} compute-sanitizer --tool $tool --error-exitcode 99 python3 \
          "$root/tests/gpu/sanitize_decode.py" 2>&1 | tail -8
      done ;;
    decodesass)
      # SASS of the decode kernels: HGMMA shapes, TMA loads, spills, registers.
      # The runtime gives decode calls one warpgroup and 64-key blocks at
      # head_dim 128 (fitSmallTile): the last two are what it launches.
      for v in ${DECODESASS_VARIANTS:-bf16_d128_decode bf16_d128_paged bf16_d128_combine bf16_d128_paged:scheduler=static_persistent bf16_d128_decode:consumer_warpgroups=1,block_n=64 bf16_d128_paged:consumer_warpgroups=1,block_n=64}; do
        spec=${v%%:*}; sched=(); [ "$spec" != "$v" ] && sched=(--schedule="${v#*:}")
        t 60 "$gen" emit-cubin "$root/specs/$spec.yaml" "${sched[@]}" -o /tmp/d.cubin | tail -1
        cuobjdump -res-usage /tmp/d.cubin 2>/dev/null | grep -o -E "REG:[0-9]+|STACK:[0-9]+|SHARED:[0-9]+" | tr '\n' ' '; echo
        echo "== $v: $(cuobjdump -sass /tmp/d.cubin | grep -o -E "HGMMA[.A-Z0-9x]*|UTMALDG[.A-Z0-9]*|LDL|STL|LDG[.A-Z0-9]*|STG[.A-Z0-9]*|USETMAXREG[.A-Z0-9]*|SHFL[.A-Z]*" | sort | uniq -c | tr '\n' ' ')"
      done ;;
    fallback)
      # The nvrtc fallback (templates/) forced on this GPU: the forward
      # feature matrix and the quick suite, then FA3-protocol rows against
      # FA2 (SDPA's flash backend) in the same process.
      mkdir -p "$out/fallback"
      t ${FALLBACK_T:-300} env FLASHCORE_BACKEND=templates python3 "$root/tests/gpu/test_features.py" \
        --random ${FEATURE_RANDOM:-2} --json "$out/fallback/features.json" | grep -E "FAIL|n/a|cases passed"
      t ${FALLBACK_T:-300} env FLASHCORE_BACKEND=templates python3 "$root/tests/gpu/test_attention.py" \
        --quick --json "$out/fallback/quick.json" | tail -5
      t ${FALLBACK_BENCH_T:-400} env FLASHCORE_BACKEND=templates OUT="$out/fallback" DTYPES=bf16,fp16 \
        HDIMS=64,128 SEQLENS=2048,4096,8192,16384 python3 "$root/bench/bench_attention.py" | tail -20 ;;
    tilesweep)
      # The fallback's tiles (FLASHCORE_TEMPLATE_TILES) against FA2 in one process each:
      # TILE_SWEEP holds HDIM:BLOCK_MxBLOCK_NxWARPS candidates.
      for cand in ${TILE_SWEEP:-64:128x128x8 64:128x64x4 64:128x96x4 64:128x128x4 128:128x64x8 128:128x64x4 128:128x48x4 128:128x32x4}; do
        echo "------- d${cand%%:*} ${cand#*:}"
        t ${TILESWEEP_T:-120} env FLASHCORE_BACKEND=templates FLASHCORE_TEMPLATE_TILES=${cand#*:} OUT=/tmp \
          PROVIDERS=flashcore,fa2 DTYPES=${SWEEP_DTYPES:-bf16} HDIMS=${cand%%:*} \
          SEQLENS=${SWEEP_SEQLENS:-2048,8192} python3 "$root/bench/bench_attention.py" | grep -E '^\| (bf|fp)16'
      done ;;
    sanall)
      t ${SANALL_T:-1500} bash "$root/tests/gpu/sanitize_all.sh" "$gen" "$root/specs" ;;
    soak)
      t $(( ${SOAK_MIN:-5} * 60 + 240 )) python3 "$root/tests/gpu/soak.py" --minutes ${SOAK_MIN:-5} \
        --threads ${SOAK_THREADS:-4} --json "$out/soak.json" | tail -6 ;;
    large)
      t 600 python3 "$root/tests/gpu/test_large.py" --json "$out/large.json" | tail -16 ;;
    ring)
      t ${RING_T:-300} python3 "$root/tests/gpu/test_ring.py" --json "$out/ring.json" ;;
    multigpu_ring)
      # torchrun (torch.distributed.run) over every GPU; the test needs two (torchrun would
      # turn its skip, exit 77, into a failure), the bench reports one GPU alone.
      n=$(nvidia-smi -L | grep -c "^GPU")
      if [ "$n" -lt 2 ]; then echo "skipped: test_distributed.py needs 2 or more GPUs, found $n"
      else t ${MULTIGPU_RING_T:-900} env NCCL_NVLS_ENABLE=0 python3 -m torch.distributed.run --standalone \
        --nproc_per_node="$n" "$root/tests/gpu/test_distributed.py" --json "$out/distributed.json"; fi
      t ${RING_BENCH_T:-900} env NCCL_NVLS_ENABLE=0 python3 -m torch.distributed.run --standalone \
        --nproc_per_node="$n" "$root/bench/ring_bench.py" --json "$out/ring_bench.json" ;;
    randargs)
      t ${RANDARGS_T:-300} python3 "$root/tests/gpu/test_random_args.py" --calls ${RANDARGS_CALLS:-300} \
        --json "$out/randargs.json" | tail -12 ;;
    pyinstall)
      t 300 python3 -m pip install -q --no-build-isolation --no-deps --no-index \
        --target /tmp/site "$root/python" && export PYTHONPATH=/tmp/site ;;
    pyapi)
      t ${PYAPI_T:-600} python3 "$root/tests/gpu/test_python_api.py" --json "$out/pyapi.json" \
        ${PYAPI_ONLY:+--only "$PYAPI_ONLY"} ;;
    hf)
      t 600 python3 "$root/tests/gpu/test_transformers.py" --json "$out/hf.json" ;;
    hosttime)
      t 300 python3 "$root/bench/python_host_time.py" --json "$out/hosttime.json" ;;
    hfbench)
      t 600 python3 "$root/bench/hf_bench.py" --json "$out/hfbench.json" ;;
    decodesweep)
      # DECODE_VARIANTS: FLASHCORE_SCHEDULE values separated by ';' (- = none).
      IFS=';' read -ra variants <<< "${DECODE_VARIANTS:--}"
      # A --page sweep names its files after the page size (-page16-...).
      page=$(echo "${DECODE_SWEEP_ARGS:-}" | grep -o -E -- '--page [0-9]+' | tr -d ' -' | sed 's/^/-/')
      for v in "${variants[@]}"; do
        echo "------- FLASHCORE_SCHEDULE=$v"
        sched=$v; [ "$v" = - ] && sched=
        t ${DECODE_T:-300} env FLASHCORE_SCHEDULE="$sched" python3 "$root/bench/decode_sweep.py" \
          ${DECODE_SWEEP_ARGS:-} --json "$out/decodesweep$page-$(echo "$v" | tr -c 'a-z0-9\n' '-').json"
      done ;;
    decodencu)
      # ncu of FlashCore's and cuDNN's decode kernels on DECODE_ROW ("HKV B SK").
      t ${DECODE_T:-300} ncu --clock-control none --metrics \
        gpu__time_duration.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed,dram__bytes_read.sum,launch__grid_size,launch__block_size,launch__registers_per_thread,launch__occupancy_limit_shared_mem,sm__warps_active.avg.pct_of_peak_sustained_active,launch__shared_mem_per_block_dynamic \
        python3 "$root/bench/decode_profile.py" ${DECODE_ROW:-8 8 32768} 2>&1 \
        | grep -E "profiled|^  [a-zA-Z_]|gpu__|dram__|launch__|sm__" | cut -c1-150 ;;
    fwdncu)
      # ncu of FlashCore's, FA3's (after fa3wait) and cuDNN's forward kernels
      # on FWD_ROWS ("DTYPE HDIM CAUSAL S", ';'-separated): time, SM and
      # tensor-pipe activity, and the stall reasons per issued instruction.
      IFS=';' read -ra fwdrows <<< "${FWD_ROWS:-bf16 128 1 2048}"
      base=gpu__time_duration.sum,sm__throughput.avg.pct_of_peak_sustained_elapsed,sm__pipe_tensor_cycles_active.avg.pct_of_peak_sustained_elapsed,sm__cycles_active.avg.pct_of_peak_sustained_elapsed,dram__throughput.avg.pct_of_peak_sustained_elapsed,launch__grid_size,launch__registers_per_thread,smsp__inst_executed.sum
      for r in "${fwdrows[@]}"; do
        echo "------- $r"
        t ${FWDNCU_T:-200} ncu --clock-control none -k "regex:flashcore|device_kernel|flash|cudnn|fmha|sm90" \
          --metrics "$base,regex:smsp__average_warps_issue_stalled_[a-z_]+_per_issue_active\.ratio" \
          python3 "$root/bench/forward_profile.py" $r 2>&1 \
          | grep -E "profiled|^  [a-zA-Z_]|gpu__|sm__|dram__|launch__|smsp__" | grep -v -E " 0(\.0+)?$" | cut -c1-150
      done ;;
    fwdncusrc)
      # Warp-stall samples per SASS instruction (ncu's source page) of
      # FlashCore's and FA3's (after fa3wait) forward kernels on FWD_ROW
      # ("DTYPE HDIM CAUSAL S"), summarised by bench/ncu_source_summary.py:
      # the hottest instructions and the samples per opcode of each kernel.
      rm -f /tmp/fwdsrc.ncu-rep
      t ${FWDNCU_T:-300} ncu --clock-control none --section SourceCounters --section WarpStateStats \
        -k "regex:flashcore|device_kernel" -o /tmp/fwdsrc \
        python3 "$root/bench/forward_profile.py" ${FWD_ROW:-bf16 128 1 4096} 2>&1 | grep -E "profiled|ERROR" | head
      ncu --import /tmp/fwdsrc.ncu-rep --page source --csv --print-source sass > "$out/fwdsrc.csv" 2>&1
      python3 "$root/bench/ncu_source_summary.py" "$out/fwdsrc.csv" --top ${FWDSRC_TOP:-25} ;;
    decodebench)
      t ${DECODE_T:-300} python3 "$root/bench/decode_bench.py" --json "$out/decode.json" ${DECODE_ARGS:-} ;;
    fa3)
      # A warm machine keeps /tmp: a new build gets its own folder per mode
      # (and ptxas), and fa3wait must not take the last call's finished build.
      # FA3_PTXAS (a ptxas, or "triton" for Triton's bundled 12.8): build FA3
      # with that assembler, as FA3 pins ptxas 12.8 on CUDA 12.x toolkits
      # (bench/cuda_with_ptxas.sh; CUDA 13's spills FA3's causal kernels).
      f=$(fa3dir)
      rm -f $f.rc $f.path
      fa3env=()
      if [ -n "${FA3_PTXAS:-}" ]; then
        p=$FA3_PTXAS
        [ "$p" = triton ] && p=$(python3 -c "import triton,os; print(os.path.join(os.path.dirname(triton.__file__),'backends/nvidia/bin/ptxas'))")
        shadow=$(bash "$root/bench/cuda_with_ptxas.sh" "$p" $f-cuda) || { echo "FA3_PTXAS: no shadow toolkit"; echo 1 > $f.rc; continue; }
        echo "FA3 with $("$shadow/bin/ptxas" --version | tail -1)"
        fa3env=(CUDA_HOME="$shadow" PATH="$shadow/bin:$PATH")
      fi
      (env "${fa3env[@]}" bash "$root/.peers/fa3_build.sh" "$root/.peers/fa3-hopper-src.tar.xz" $f ${FA3_MODE:-protocol} \
        >$f.path.tmp 2>$f.err; rc=$?; mv $f.path.tmp $f.path; echo $rc >$f.rc) &
      echo "FA3 build started in the background" ;;
    fa3spills)
      # After fa3wait: FA3's forward kernels as this machine built them (CUDA
      # 13's ptxas spills its causal kernels, bench/fa3_ptx.sh): LDL/STL per
      # kernel and how many sit in the main loop (bench/sass_spills.py).
      [ -n "${FA3_PATH:-}" ] || { echo "no FA3_PATH (run fa3 fa3wait first)"; continue; }
      for so in $(find "$FA3_PATH" -maxdepth 3 -name "*.so"); do
        cuobjdump -sass "$so" > /tmp/fa3.sass 2>/dev/null || continue
        (cd "$root/bench" && python3 sass_spills.py /tmp/fa3.sass)
      done ;;
    fa3wait)
      # FA3_WAIT_S bounds the wait; past it the later stages run without FA3.
      f=$(fa3dir)
      w=0; while [ ! -f $f.rc ] && [ $w -lt ${FA3_WAIT_S:-900} ]; do sleep 2; w=$((w + 2)); done
      [ -f $f.rc ] || { echo "FA3 build not finished after ${w}s; continuing without it"; continue; }
      cat $f.err
      [ "$(cat $f.rc)" = 0 ] || { echo "FA3 build failed (rc $(cat $f.rc)); continuing without it"; continue; }
      export FA3_PATH=$(cat $f.path); echo "FA3_PATH=$FA3_PATH" ;;
    *) echo "unknown stage $stage" ;;
  esac
done
