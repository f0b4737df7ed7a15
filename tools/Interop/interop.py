"""Interop check against the real Python stack (transformers 4.26.1, huggingface_hub 0.12.1 from ../shared/python-ref,
Debian's python3-torch): files cross over both ways. Driven by tools/Interop/run.sh; run it through that.

Checks, each printed as PASS/FAIL with its figures:
  1. save      transformers loads what our SavePretrained writes: same logits (max |diff| <= 1e-5) on the same ids
  2. finetune  transformers loads what `finetune` writes (output folder and every checkpoint-N) with our logits,
               reads trainer_state.json with its own TrainerState, predicts the dev pairs as predict_results_mrpc.txt
  3. reverse   we load what Python's save_pretrained writes (weights as model.safetensors via numpy): same logits
  4. tokenizer Python's slow BertTokenizer and ours give the same ids and token types on every MRPC train/dev pair
  5. hub       huggingface_hub finds every file of the cache our Hub client wrote (try_to_load_from_cache,
               scan_cache_dir: repo, commit, files, sizes)
Exit code 0 when every check passes, 1 otherwise.
"""
import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import time

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--model", required=True, help="a Hugging Face BERT folder (config.json, model.safetensors, vocab.txt)")
parser.add_argument("--python-ref", required=True, help="../shared/python-ref")
parser.add_argument("--mrpc", required=True, help="GLUE MRPC's train.tsv and dev.tsv")
parser.add_argument("--tool", required=True, help="command line of FineTuning.Interop (C# side)")
parser.add_argument("--finetune", required=True, help="command line of finetune")
parser.add_argument("--work", required=True, help="scratch folder (emptied first)")
parser.add_argument("--train-steps", type=int, default=4)
parser.add_argument("--tolerance", type=float, default=1e-5)
args = parser.parse_args()

sys.path.insert(0, args.python_ref)
import hf_env  # noqa: E402,F401  (first: vendored sources on sys.path, offline mode)
import numpy as np  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
import huggingface_hub  # noqa: E402
from huggingface_hub import scan_cache_dir, try_to_load_from_cache  # noqa: E402
from safetensors_np import read_safetensors, write_safetensors  # noqa: E402
from transformers import BertConfig, BertForSequenceClassification, BertTokenizer  # noqa: E402
from transformers.trainer_callback import TrainerState  # noqa: E402

torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
failures = []


def report(name, ok, detail):
    print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}", flush=True)
    if not ok:
        failures.append(name)


def run(command, *extra):
    """Runs a C# command (a shell-split prefix plus arguments); its output is shown only when it fails."""
    full = command.split() + [str(e) for e in extra]
    p = subprocess.run(full, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(full)} exited {p.returncode}:\n{p.stdout[-4000:]}\n{p.stderr[-4000:]}")
    return p.stdout


def load_py(folder):
    """transformers' from_pretrained on one of our folders. transformers 4.26 reads .safetensors only through the
    `safetensors` package (absent here), so a scratch copy gets the same tensors, read with numpy, as
    pytorch_model.bin; config.json and the rest are our files as written. Fails unless every weight of the model is
    in the file and every tensor of the file is used."""
    tensors, meta = read_safetensors(os.path.join(folder, "model.safetensors"))
    view = os.path.join(args.work, "python-view", os.path.relpath(os.path.abspath(folder), "/").replace(os.sep, "_"))
    shutil.rmtree(view, ignore_errors=True)
    os.makedirs(view)
    for name in os.listdir(folder):
        if os.path.isfile(os.path.join(folder, name)) and name != "model.safetensors":
            shutil.copy(os.path.join(folder, name), view)
    torch.save({k: torch.from_numpy(v) for k, v in tensors.items()}, os.path.join(view, "pytorch_model.bin"))
    model, info = BertForSequenceClassification.from_pretrained(view, output_loading_info=True)
    # position_ids is a buffer (not saved by HF either); anything else missing or unexpected is a format defect.
    missing = [k for k in info["missing_keys"] if not k.endswith("position_ids")]
    unexpected = [k for k in info["unexpected_keys"] if not k.endswith("position_ids")]
    if missing or unexpected or info["mismatched_keys"] or info["error_msgs"]:
        raise AssertionError(f"{folder}: missing {missing}, unexpected {unexpected}, mismatched {info['mismatched_keys']}, {info['error_msgs']}")
    model.eval()
    return model, meta


def py_logits(model, batch):
    with torch.no_grad():
        out = model(input_ids=torch.tensor(batch["input_ids"]), attention_mask=torch.tensor(batch["attention_mask"]),
                    token_type_ids=torch.tensor(batch["token_type_ids"]))
    return out.logits.float().numpy()


def our_logits(folder, ids_file, name):
    out = os.path.join(args.work, "logits-" + "".join(c if c.isalnum() or c in "-_" else "_" for c in name) + ".json")
    run(args.tool, "logits", folder, ids_file, out)
    with open(out) as f:
        return np.array(json.load(f)["logits"], dtype=np.float32)


def compare_logits(name, folder, model, ids_file, batch):
    ours, theirs = our_logits(folder, ids_file, name), py_logits(model, batch)
    diff = float(np.abs(ours - theirs).max()) if ours.shape == theirs.shape else float("inf")
    report(name, diff <= args.tolerance, f"logits {list(theirs.shape)}, max |ours - transformers| = {diff:.2e} (tolerance {args.tolerance:g})")


def read_mrpc(split_file):
    """GLUE MRPC as transformers' glue processor reads it: tab-separated, no quoting, header skipped."""
    with open(os.path.join(args.mrpc, split_file), encoding="utf-8-sig") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
    return [(int(r[0]), r[3], r[4]) for r in rows]


started = time.time()
shutil.rmtree(args.work, ignore_errors=True)
os.makedirs(args.work)
print(f"transformers {transformers.__version__}, huggingface_hub {huggingface_hub.__version__}, torch {torch.__version__}, "
      f"numpy {np.__version__}; model {args.model}", flush=True)

# The same ids for every logits comparison: MRPC dev pairs through Python's slow tokenizer, padded (a batch with padding,
# so the attention mask matters), at most 128 tokens as the course's tokenize_function does.
tokenizer = BertTokenizer.from_pretrained(args.model)
dev = read_mrpc("dev.tsv")
pairs = dev[:8]
batch = dict(tokenizer([p[1] for p in pairs], [p[2] for p in pairs], truncation=True, max_length=128, padding=True))
ids_file = os.path.join(args.work, "ids.json")
with open(ids_file, "w") as f:
    json.dump(batch, f)
base_config = json.load(open(os.path.join(args.model, "config.json")))
has_head = any(a.endswith("ForSequenceClassification") for a in base_config.get("architectures") or [])

# 1. Our SavePretrained -> transformers.
ours_saved = os.path.join(args.work, "ours-saved")
run(args.tool, "save", args.model, ours_saved, *([] if has_head else [2]))
model, meta = load_py(ours_saved)
report("save: metadata", (meta or {}).get("format") == "pt", f"model.safetensors __metadata__ = {meta}")
py_tok = BertTokenizer.from_pretrained(ours_saved)
report("save: tokenizer files", py_tok.do_lower_case == tokenizer.do_lower_case and len(py_tok) == len(tokenizer),
       f"BertTokenizer.from_pretrained: {len(py_tok)} tokens, do_lower_case={py_tok.do_lower_case}")
compare_logits("save: logits", ours_saved, model, ids_file, batch)

# 2. finetune -> transformers: the output folder and each checkpoint-N.
ft = os.path.join(args.work, "finetune")
steps = args.train_steps
run(args.finetune, "--model_name_or_path", args.model, "--task_name", "mrpc",
    "--train_file", os.path.join(args.mrpc, "train.tsv"), "--test_file", os.path.join(args.mrpc, "dev.tsv"),
    "--do_train", "--do_predict",
    "--max_steps", steps, "--save_steps", steps // 2, "--max_train_samples", 8 * steps,
    "--per_device_train_batch_size", 8, "--pad_to_max_length", "False", "--seed", 42, "--output_dir", ft)
checkpoints = sorted((d for d in os.listdir(ft) if d.startswith("checkpoint-")), key=lambda d: int(d.split("-")[1]))
report("finetune: checkpoints", checkpoints == [f"checkpoint-{steps // 2}", f"checkpoint-{steps}"], f"{checkpoints}")
for folder in [ft] + [os.path.join(ft, c) for c in checkpoints]:
    name = os.path.relpath(folder, args.work)
    model, _ = load_py(folder)
    compare_logits(f"{name}: logits", folder, model, ids_file, batch)
    # Our trainer_state.json is today's transformers' (4.4x+): 4.26's TrainerState lacks the newer fields
    # (best_global_step, stateful_callbacks, ...), as it does for a checkpoint of today's Python Trainer. Every field
    # 4.26 knows must be there and parse; the newer ones are listed.
    with open(os.path.join(folder, "trainer_state.json"), encoding="utf-8") as f:
        raw = json.load(f)
    known = set(TrainerState.__dataclass_fields__)
    state = TrainerState(**{k: v for k, v in raw.items() if k in known})
    expected = int(folder.rsplit("-", 1)[1]) if "checkpoint-" in folder else steps
    absent = sorted(known - set(raw))
    report(f"{name}: trainer_state.json", state.global_step == expected and state.max_steps == steps and not absent,
           f"TrainerState: global_step {state.global_step}, max_steps {state.max_steps}, {len(state.log_history)} log "
           f"entries; fields 4.26 lacks (newer transformers): {', '.join(sorted(set(raw) - known)) or 'none'}"
           + (f"; missing: {absent}" if absent else ""))
    if folder != ft:
        optimizer, _ = read_safetensors(os.path.join(folder, "optimizer.safetensors"))
        n_params = sum(1 for _ in model.parameters())
        report(f"{name}: optimizer.safetensors", len(optimizer) >= 2 * n_params,
               f"{len(optimizer)} tensors for {n_params} parameters (AdamW's two moments each)")
# finetune's predictions against transformers' own on the same model and the dev pairs.
model, _ = load_py(ft)
py_tok = BertTokenizer.from_pretrained(ft)
id2label = model.config.id2label
predicted = []
for start in range(0, len(dev), 32):
    chunk = dev[start:start + 32]
    enc = py_tok([p[1] for p in chunk], [p[2] for p in chunk], truncation=True, max_length=128, padding=True, return_tensors="pt")
    with torch.no_grad():
        predicted += model(**enc).logits.argmax(-1).tolist()
with open(os.path.join(ft, "predict_results_mrpc.txt")) as f:
    ours = [line.rstrip("\n").split("\t")[1] for line in f.readlines()[1:]]
theirs = [id2label[i] for i in predicted]
agree = sum(a == b for a, b in zip(ours, theirs))
report("finetune: predict_results_mrpc.txt", len(ours) == len(theirs) and agree == len(ours),
       f"transformers predicts {agree} of {len(theirs)} dev pairs as finetune did ({len(ours)} lines)")

# 3. Python's save_pretrained -> ours.
py_saved = os.path.join(args.work, "python-saved")
if has_head:
    model, _ = load_py(args.model)
else:
    torch.manual_seed(42)
    model, _ = load_py(ours_saved)   # the model with a head; from_pretrained has no random head to compare otherwise
model.save_pretrained(py_saved)      # config.json + pytorch_model.bin (pickle: not for us)
tokenizer.save_pretrained(py_saved)  # vocab.txt, tokenizer_config.json, special_tokens_map.json
bin_file = os.path.join(py_saved, "pytorch_model.bin")
state = torch.load(bin_file, map_location="cpu")
write_safetensors(os.path.join(py_saved, "model.safetensors"), {k: v.contiguous().numpy() for k, v in state.items()}, {"format": "pt"})
os.remove(bin_file)
compare_logits("reverse: logits", py_saved, model, ids_file, batch)

# 4. Tokenizers: every MRPC train/dev pair.
tokens_file = os.path.join(args.work, "tokens.jsonl")
run(args.tool, "tokenize", args.model, args.mrpc, tokens_file)
with open(tokens_file, encoding="utf-8") as f:
    ours = [json.loads(line) for line in f]
expected = [("train", i, p) for i, p in enumerate(read_mrpc("train.tsv"))] + [("validation", i, p) for i, p in enumerate(dev)]
mismatches = []
if len(ours) != len(expected):
    mismatches.append(f"{len(ours)} pairs from ours, {len(expected)} in the TSV files")
for o, (split, i, (label, s1, s2)) in zip(ours, expected):
    enc = tokenizer(s1, s2)
    if (o["split"], o["sentence1"], o["sentence2"]) != (split, s1, s2):
        mismatches.append(f"{split} row {i}: the sentences differ")
    elif o["input_ids"] != enc["input_ids"] or o["token_type_ids"] != enc["token_type_ids"]:
        mismatches.append(f"{split} row {i}: ours {tokenizer.convert_ids_to_tokens(o['input_ids'])} vs "
                          f"{tokenizer.convert_ids_to_tokens(enc['input_ids'])}")
report("tokenizer: MRPC train + dev", not mismatches,
       f"{len(expected) - len(mismatches)} of {len(expected)} pairs identical (ids and token types)"
       + (f"; first: {mismatches[0]}" if mismatches else ""))

# 5. huggingface_hub reads the cache our Hub client wrote.
cache = os.path.join(args.work, "hub-cache")
hub_json = os.path.join(args.work, "hub.json")
run(args.tool, "hub", args.model, cache, hub_json)
hub = json.load(open(hub_json))
problems = []
for name, path in hub["files"].items():
    found = try_to_load_from_cache(hub["repo_id"], name, cache_dir=cache)
    if found is None or not isinstance(found, str) or os.path.realpath(found) != os.path.realpath(path):
        problems.append(f"try_to_load_from_cache({name}) = {found!r}, ours {path}")
    pinned = try_to_load_from_cache(hub["repo_id"], name, cache_dir=cache, revision=hub["commit"])
    if not isinstance(pinned, str) or os.path.realpath(pinned) != os.path.realpath(path):
        problems.append(f"try_to_load_from_cache({name}, revision=commit) = {pinned!r}")
report("hub: try_to_load_from_cache", not problems,
       f"{len(hub['files']) - len(problems)} of {len(hub['files'])} files found (main and by commit)"
       + (f"; {problems[0]}" if problems else ""))
info = scan_cache_dir(cache)
repos = {r.repo_id: r for r in info.repos}
repo = repos.get(hub["repo_id"])
# Our client keeps its lock files in <cache>/.locks, as huggingface_hub >= 0.14 does; 0.12.1 kept them beside the
# blobs and reports the folder as "not a valid cache directory" (for a cache of today's Python client too).
locks_warned = [w for w in info.warnings if str(w).rstrip("/").endswith(os.sep + ".locks")]
problems = [f"warning: {w}" for w in info.warnings if w not in locks_warned]
if repo is None:
    problems.append(f"{hub['repo_id']} not among {list(repos)}")
else:
    revisions = list(repo.revisions)
    if [r.commit_hash for r in revisions] != [hub["commit"]]:
        problems.append(f"revisions {[r.commit_hash for r in revisions]}, expected [{hub['commit']}]")
    if revisions and sorted(revisions[0].refs) != ["main"]:
        problems.append(f"refs {sorted(revisions[0].refs)}")
    files = {f.file_name: f.size_on_disk for f in (revisions[0].files if revisions else [])}
    if files != hub["sizes"]:
        problems.append(f"files {files} vs served {hub['sizes']}")
report("hub: scan_cache_dir", not problems,
       f"{len(info.repos)} repo, {repo.nb_files if repo else 0} files, {info.size_on_disk} bytes, refs main -> {hub['commit'][:12]}"
       + (f"; .locks/ reported as not a repository (0.12.1 predates it)" if locks_warned else "")
       + (f"; {problems[0]}" if problems else ""))

print(f"{'all checks passed' if not failures else str(len(failures)) + ' check(s) failed: ' + ', '.join(failures)} "
      f"({time.time() - started:.0f} s)", flush=True)
sys.exit(1 if failures else 0)
