#!/usr/bin/env bash
# One run on a lent GPU machine (issue 15): the GPU tests, bench/gpu.py against the
# machine's CPU cores (and gensim when carried), the training kernel's layouts
# (warps a block, a register cap) against each other, where a run's time goes, and
# Nsight Compute's reading of one CBOW launch.  See bench/README.md for the folder
# CARRY (the corpus's sources, the evaluation sets, gensim) and how to start it.
# All of it takes about 11 minutes (an estimate), past one device call's 10: run it in
# two calls, STEPS="bench layouts" then STEPS="profile tests ncu" (the corpus is
# built again only when the machine was handed back in between).
#
#     STEPS="bench layouts" bash bench/gpu_device.sh CARRY [RUNS]   # RUNS: bench/gpu.py --runs (default: all)
set -u
steps=" ${STEPS:-bench layouts profile tests ncu} "
want() { [[ "$steps" == *" $1 "* ]]; }
carry=${1:?the carried folder: data/, eval/ and optionally gensim.tgz}
runs=${2:-}
out=${OUT:-/tmp/gpu-device-out}
mkdir -p "$out"
export PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore
start=$(date +%s)
step() { echo "[$(( $(date +%s) - start )) s] $*"; }
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv,noheader
lscpu | grep -E "Model name"
export PYTHONPATH=$PWD
if [ -f "$carry/gensim.tgz" ]; then
    mkdir -p /tmp/site && tar xzf "$carry/gensim.tgz" -C /tmp/site && export PYTHONPATH=$PWD:/tmp/site
fi
python3 -c "import numpy, numba, numba_cuda
print('numpy', numpy.__version__, 'numba', numba.__version__, 'numba-cuda', numba_cuda.__version__)"
if [ ! -s /tmp/enwiki20.txt ]; then
    step corpus
    python3 "$carry/data/build_corpus.py" /tmp/enwiki20.txt > "$out/corpus.log" 2>&1; tail -1 "$out/corpus.log"
fi
if want bench; then
    step bench
    timeout 300 python3 bench/gpu.py /tmp/enwiki20.txt --eval "$carry/eval" --output "$out/gpu.json" \
        ${runs:+--runs "$runs"} 2>&1 | tee "$out/bench.log" | grep -v "tokens, \|MB free"
fi
if want layouts; then
    step layouts
    timeout 290 python3 bench/gpu.py /tmp/enwiki20.txt --eval "$carry/eval" --output "$out/layouts.json" \
        --runs gpu-cbow-5,gpu-cbow-5@w1,gpu-cbow-5@w2,gpu-cbow-5@r64,gpu-cbow-5@r56,gpu-cbow-5@a1,gpu-sg-5@a1,\
gpu-cbow-5-sub,gpu-cbow-5-sub@a1 2>&1 | tee "$out/layouts.log" | grep -E "^\||registers a thread"
fi
if want profile; then
    step profile
    for arch in cbow skipgram; do timeout 40 python3 bench/gpu_profile.py /tmp/enwiki20.txt --arch "$arch"; done \
        2>&1 | tee "$out/profile.log"
fi
if want tests; then
    step tests
    NUMBA_ENABLE_CUDASIM=0 timeout 150 python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py \
        > "$out/tests.log" 2>&1
    grep -E "^E |passed|failed|^FAILED" "$out/tests.log" | head -20
fi
ncu=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu /usr/local/cuda/bin/ncu 2>/dev/null | head -1)
if want ncu && [ -n "$ncu" ]; then
    step ncu
    timeout 60 "$ncu" --clock-control none -k regex:train --launch-skip 3 --launch-count 1 --section SpeedOfLight \
        --section Occupancy --section WarpStateStats --section MemoryWorkloadAnalysis \
        python3 bench/gpu_profile.py /tmp/enwiki20.txt --epochs 1 > "$out/ncu.txt" 2>&1
    grep -E "Throughput|Occupancy|Warp Cycles|Hit Rate|Block Limit|Est. Local Speedup" "$out/ncu.txt" | head -30
fi
step done
