#!/usr/bin/env bash
# Runs the README's main job — every lesson, in the real .NET Interactive kernel, with the lessons' own defaults (no
# FT_* knob set: on a machine without a GPU that is the CPU profile) and no Hub — then writes notebooks/RESULTS.md:
# the machine, the date, wall and CPU time per lesson, and the figures lessons 05-08 quote, extracted from the executed
# notebooks (tools/extract-lesson-results.py). The lessons' prose quotes this file.
#
#   dotnet build Helpers.sln && tools/measure-lessons.sh [OUTPUT_DIR]     (default: artifacts/notebooks)
#   tools/measure-lessons.sh --report-only OUTPUT_DIR    rewrite RESULTS.md from a finished run's folder (its times.tsv,
#                                                        run-info and executed notebooks), running nothing
set -euo pipefail
cd "$(dirname "$0")/.."

# libtorch's OpenMP spin-waits by default: on 2 shared cores that is many times slower. The Hub is not used: the model
# comes from its NuGet package, MRPC from data/glue/mrpc.
export OMP_WAIT_POLICY=PASSIVE HF_HUB_OFFLINE=1
for knob in $(env | grep -o '^FT_[A-Z_]*' || true); do unset "$knob"; done   # the lessons' defaults, not a caller's knobs

report_only=false
if [ "${1:-}" = --report-only ]; then report_only=true; shift; fi
out="${1:-artifacts/notebooks}"
mkdir -p "$out"
times="$out/times.tsv"
status=0
if ! $report_only; then
: >"$times"
printf 'started=%q\nload_before=%q\ncommit=%q\n' "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(cut -d' ' -f1-3 /proc/loadavg)" \
  "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- notebooks src || echo ' (with uncommitted changes)')" >"$out/run-info"
for notebook in notebooks/0*.ipynb; do
  name=$(basename "$notebook" .ipynb)
  echo "== $name"
  rc=0
  /usr/bin/time -f '%e %U %S' -o "$out/$name.time" \
    dotnet run --project src/NotebookRunner --no-build -- "$notebook" --output "$out" --cell-timeout 3600 \
    >"$out/$name.log" 2>&1 || rc=$?
  read -r wall user sys < <(tail -n 1 "$out/$name.time") || true
  grep -E '^  cell .*(FAILED|timed out)|cells, ' "$out/$name.log" || tail -n 3 "$out/$name.log"
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$rc" "${wall:-?}" "${user:-?}" "${sys:-?}" | tee -a "$times"
  [ "$rc" -eq 0 ] || status=1
done
printf 'load_after=%q\n' "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/run-info"
fi
# shellcheck disable=SC1091
. "$out/run-info"

results="notebooks/RESULTS.md"
tmp="$(mktemp "notebooks/.RESULTS.md.XXXXXX")"
{
  echo "# Measured lesson results"
  echo
  echo "Written by \`tools/measure-lessons.sh\` (do not edit by hand): the nine lessons run by src/NotebookRunner in the"
  echo "real .NET Interactive kernel, one kernel per lesson, with the lessons' default knobs (no \`FT_*\` set),"
  echo "\`HF_HUB_OFFLINE=1\`, \`OMP_WAIT_POLICY=PASSIVE\`."
  echo
  echo "- machine: $(lscpu | sed -n 's/^Model name: *//p' | head -n 1), $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB;" \
       "GPU: $( [ -e /dev/nvidiactl ] || [ -e /dev/nvidia0 ] && echo yes || echo none)"
  echo "- date: $started; commit $commit"
  echo "- load average (1, 5, 15 min) before: $load_before; after: $load_after (other jobs on the machine slow every lesson)"
  echo
  echo "| lesson | exit | wall (s) | CPU user (s) | CPU sys (s) |"
  echo "|---|---|---|---|---|"
  awk -F'\t' '{ printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5; w += $3; u += $4; s += $5 }
              $4 == "?" || $5 == "?" { unknown = 1 }
              END { if (unknown) printf "| **all** | | **%.0f** (%.1f min) | ? | ? |\n", w, w / 60
                    else printf "| **all** | | **%.0f** (%.1f min) | %.0f | %.0f |\n", w, w / 60, u, s }' "$times"
  echo
  echo "Wall time includes each kernel's start and package loads; CPU time is the runner's and the kernel's together."
  echo
  # A run made another way (a subset of the lessons, a knob set on purpose) says so in notes.md beside its notebooks.
  if [ -f "$out/notes.md" ]; then cat "$out/notes.md"; echo; fi
  echo "## Figures the lessons quote"
  echo
  python3 tools/extract-lesson-results.py "$out"
} >"$tmp"
mv "$tmp" "$results"
echo "wrote $results"
exit "$status"
