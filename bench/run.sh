#!/usr/bin/env bash
# The benchmark's one command (docs/performance.md): ours against PyTorch eager and the Hugging Face Trainer on
# this machine. Needs ../shared beside the repository. Installs what the PyTorch side needs when missing (Debian's
# python3-torch with the OpenMP build of OpenBLAS, as ../shared/bench/README.md says), then builds and runs
# bench/Benchmarks.csproj in Release. Arguments go to the benchmark: --quick, --parts abcdefg, --rounds N, --threads N,
# --out DIR, --model DIR (part g: all-MiniLM-L6-v2 as a Hugging Face folder; or FINETUNING_MINILM) (see --help).
# Writes bench/results/report.md and report.json.
set -euo pipefail
cd "$(dirname "$0")/.."

# libgomp (libtorch's and OpenBLAS's OpenMP runtime) spin-waits by default: on a small shared machine that makes
# steps 15-40x slower and noisy. Both stacks get the same number of threads.
export OMP_WAIT_POLICY=PASSIVE
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-$(nproc)}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

python=/usr/bin/python3   # not the first python3 on PATH: that one may have no torch
openblas=/usr/lib/x86_64-linux-gnu/openblas-openmp
# Part g runs the Hugging Face Trainer from ../shared/python-ref: transformers' own dependencies too.
if ! "$python" -c 'import torch, numpy, filelock, packaging, yaml, regex, requests, tqdm' 2>/dev/null || [ ! -e "$openblas/libblas.so.3" ]; then
  echo "Installing Debian's python3-torch and the OpenMP OpenBLAS (once per machine) ..." >&2
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch libopenblas0-openmp \
    python3-numpy python3-filelock python3-packaging python3-yaml python3-regex python3-requests python3-tqdm >/dev/null
fi
# Debian's torch calls the generic BLAS interface: with the reference BLAS behind it a step is 10-35x slower, and
# the pthread OpenBLAS oversubscribes the cores. Point the interface at the OpenMP OpenBLAS.
blas="$(readlink -f /etc/alternatives/libblas.so.3-x86_64-linux-gnu 2>/dev/null || true)"
if [ "$blas" != "$openblas/libblas.so.3" ]; then
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
  $sudo update-alternatives --set libblas.so.3-x86_64-linux-gnu "$openblas/libblas.so.3"
  $sudo update-alternatives --set liblapack.so.3-x86_64-linux-gnu "$openblas/liblapack.so.3"
fi

if [ ! -d ../shared/bench ]; then
  echo "warning: ../shared/bench is missing: the PyTorch and Hugging Face comparisons will be reported as not measured." >&2
fi

dotnet build bench/Benchmarks.csproj -c Release -v quiet -nologo >&2
exec dotnet bench/bin/Release/net10.0/FineTuning.Benchmarks.dll "$@"
