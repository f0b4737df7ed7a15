#!/usr/bin/env bash
# Interop with the real Python stack, both ways (README, "Interop with Python"): Python's transformers 4.26.1 loads
# what our SavePretrained and finetune write (logits within 1e-5, checkpoints, predictions), we load what Python's
# save_pretrained writes, Python's slow BertTokenizer and ours agree on every MRPC pair, and huggingface_hub 0.12.1
# reads a cache our Hub client wrote. Uses ../shared/python-ref (vendored transformers / huggingface_hub) with
# Debian's python3-torch.
#
#   tools/Interop/run.sh [MODEL_FOLDER] [--install] [-c Debug|Release]
#
# MODEL_FOLDER: a Hugging Face BERT folder (config.json, model.safetensors, vocab.txt); default: all-MiniLM-L6-v2's
# folder when FINETUNING_MINILM points at one, else ../shared/fixtures/pretrained-tiny. Without python3-torch it
# prints SKIP and exits 0, unless --install (or INTEROP_INSTALL=1) installs it with apt-get first. Exit 1 when a check
# fails. Scratch files go to INTEROP_WORK (default: a temporary folder, removed afterwards).
set -euo pipefail
cd "$(dirname "$0")/../.."

export OMP_WAIT_POLICY=PASSIVE
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-$(nproc)}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

model="" install="${INTEROP_INSTALL:-0}" configuration=Release
while [ $# -gt 0 ]; do
  case "$1" in
    --install) install=1 ;;
    -c) configuration="$2"; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) model="$1" ;;
  esac
  shift
done

shared="$(cd .. && pwd)/shared"
if [ ! -f "$shared/python-ref/hf_env.py" ] || [ ! -d "$shared/assets/mrpc" ]; then
  echo "SKIP interop: ../shared/python-ref or ../shared/assets/mrpc is missing beside the repository." >&2
  exit 0
fi
if [ -z "$model" ]; then
  if [ -n "${FINETUNING_MINILM:-}" ]; then model="$FINETUNING_MINILM"; else model="$shared/fixtures/pretrained-tiny"; fi
fi
model="$(cd "$model" && pwd)"

python=/usr/bin/python3   # not the first python3 on PATH: that one may have no torch
packages="python3-torch python3-numpy python3-filelock python3-packaging python3-yaml python3-regex python3-requests python3-tqdm"
if ! "$python" -c 'import torch, numpy, filelock, packaging, yaml, regex, requests, tqdm' 2>/dev/null; then
  if [ "$install" != 1 ]; then
    echo "SKIP interop: $python cannot import torch (Debian's python3-torch) and the other packages transformers needs." >&2
    echo "  Install them once with:  sudo apt-get install -y $packages" >&2
    echo "  or run:                  tools/Interop/run.sh --install" >&2
    exit 0
  fi
  echo "Installing $packages ..." >&2
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null
fi

dotnet build tools/Interop/Interop.csproj -c "$configuration" -v quiet -nologo >&2
dotnet build src/FineTune/FineTune.csproj -c "$configuration" -v quiet -nologo >&2

work="${INTEROP_WORK:-}"
if [ -z "$work" ]; then work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT; fi
exec "$python" tools/Interop/interop.py --model "$model" --python-ref "$shared/python-ref" --mrpc "$shared/assets/mrpc" \
  --tool "dotnet tools/Interop/bin/$configuration/net10.0/FineTuning.Interop.dll" \
  --finetune "dotnet src/FineTune/bin/$configuration/net10.0/finetune.dll" --work "$work"
