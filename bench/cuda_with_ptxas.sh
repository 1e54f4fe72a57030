#!/usr/bin/env bash
# A shadow of the CUDA toolkit whose nvcc assembles with another ptxas, for building FA3 the way it is meant to run:
# FA3 pins ptxas 12.8 on CUDA 12.x toolkits, but on CUDA 13 its setup.py keeps 13.0's, which spills its causal kernels
# (bench/fa3_ptx.sh; docs/PERFORMANCE.md, session 24).
#   bash bench/cuda_with_ptxas.sh PTXAS DIR [CUDA]    -> DIR: use CUDA_HOME=DIR PATH=DIR/bin:$PATH
# nvcc puts its own directory first on the PATH of the tools it runs, so a ptxas earlier on PATH is not used; the
# shadow holds copies of nvcc and nvcc.profile (its TOP is then DIR), links to everything else, and a bin/ptxas that
# runs PTXAS. cicc 13 writes `.version 9.0`, which ptxas 12.8 (PTX ISA 8.7) refuses: the wrapper lowers the version of
# each input .ptx to what PTXAS accepts when it is older (FA3's PTX uses nothing of 9.0: ptxas 13 assembles it under
# `.version 8.7`, checked here on the hdim 64 and 128 instantiations).
set -eu
ptxas=$1 dir=$2 cuda=${3:-/usr/local/cuda}
[ -x "$ptxas" ] || { echo "PTXAS must be an executable ptxas, got: $ptxas" >&2; exit 1; }
max=$("$ptxas" --version | sed -n 's/.*release \([0-9]*\)\.\([0-9]*\).*/\1.\2/p')
case $max in
  12.8) isa=8.7 ;; 12.9) isa=8.8 ;; 13.*) isa= ;;
  *) echo "PTXAS must be release 12.8 or newer, got: ${max:-unknown}" >&2; exit 1 ;;
esac
rm -rf "$dir" && mkdir -p "$dir/bin"
for d in "$cuda"/*; do [ "$(basename "$d")" = bin ] || ln -s "$(readlink -f "$d")" "$dir/$(basename "$d")"; done
for f in "$cuda"/bin/*; do
  case $(basename "$f") in nvcc|nvcc.profile|ptxas) ;; *) ln -s "$(readlink -f "$f")" "$dir/bin/$(basename "$f")" ;; esac
done
cp "$cuda/bin/nvcc" "$cuda/bin/nvcc.profile" "$dir/bin/"
cat > "$dir/bin/ptxas" <<WRAP
#!/usr/bin/env bash
# Written by bench/cuda_with_ptxas.sh: assemble with $ptxas (release $max).
if [ -n "$isa" ]; then
  for a in "\$@"; do
    case \$a in *.ptx) [ -f "\$a" ] && sed -i 's/^\.version 9\.[0-9]*\$/.version $isa/' "\$a" ;; esac
  done
fi
exec "$ptxas" "\$@"
WRAP
chmod +x "$dir/bin/ptxas"
echo "$dir"
