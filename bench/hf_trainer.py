"""Part g's Python side: the Hugging Face Trainer (transformers 4.26.1 from ../shared/python-ref, Debian's torch 1.13)
fine-tuning a BERT folder on GLUE MRPC with the course's recipe, timed the way bench/RealModelEpoch.cs times ours.

    /usr/bin/python3 bench/hf_trainer.py --model DIR --python-ref ../shared/python-ref --mrpc ../shared/assets/mrpc
        [--epochs 3] [--target 0.80] [--bf16] [--group-by-length] [--max-train N] [--max-eval N] [--threads 2]

Recipe: dynamic padding (DataCollatorWithPadding), batch 8, lr 5e-5, AdamW (torch.optim.AdamW: "adamw_torch"),
linear schedule without warmup, weight decay 0, max_grad_norm 1, seed 42, evaluation each epoch (accuracy, F1), no
checkpoints; training stops at the first evaluation whose accuracy reaches --target. Prints one line
RESULT {json}: the wall time of each epoch and evaluation since training began, accuracy, F1, peak RSS.
"""
import argparse
import csv
import json
import os
import resource
import shutil
import sys
import tempfile
import time

p = argparse.ArgumentParser()
p.add_argument("--model", required=True)
p.add_argument("--python-ref", required=True)
p.add_argument("--mrpc", required=True)
p.add_argument("--epochs", type=int, default=3)
p.add_argument("--target", type=float, default=0.80)
p.add_argument("--bf16", action="store_true")
p.add_argument("--group-by-length", action="store_true")
p.add_argument("--max-train", type=int, default=0)
p.add_argument("--max-eval", type=int, default=0)
p.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "2")))
a = p.parse_args()

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, a.python_ref)
import hf_env  # noqa: E402,F401
import numpy as np  # noqa: E402
import torch  # noqa: E402
from safetensors_np import read_safetensors  # noqa: E402
from transformers import (AutoModelForSequenceClassification, BertTokenizer, DataCollatorWithPadding, Trainer,  # noqa: E402
                          TrainerCallback, TrainingArguments, set_seed)

torch.set_num_threads(a.threads)
work = tempfile.mkdtemp(prefix="hf-trainer-bench-")
try:
    # transformers 4.26 reads .safetensors only through the absent `safetensors` package: the same tensors as a .bin.
    view = os.path.join(work, "model")
    os.makedirs(view)
    for name in os.listdir(a.model):
        if name != "model.safetensors" and os.path.isfile(os.path.join(a.model, name)):
            shutil.copy(os.path.join(a.model, name), view)
    tensors, _ = read_safetensors(os.path.join(a.model, "model.safetensors"))
    torch.save({k: torch.from_numpy(v) for k, v in tensors.items()}, os.path.join(view, "pytorch_model.bin"))

    def read(split_file, limit):
        with open(os.path.join(a.mrpc, split_file), encoding="utf-8-sig") as f:
            rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
        return rows[:limit] if limit else rows

    tokenizer = BertTokenizer.from_pretrained(view)

    def encode(rows):
        # The course's tokenize_function: tokenizer(sentence1, sentence2, truncation=True), padding left to the collator.
        out = []
        for r in rows:
            e = tokenizer(r[3], r[4], truncation=True)
            e["labels"] = int(r[0])
            out.append(dict(e))
        return out

    train, dev = encode(read("train.tsv", a.max_train)), encode(read("dev.tsv", a.max_eval))
    set_seed(42)
    model = AutoModelForSequenceClassification.from_pretrained(view, num_labels=2)

    def compute_metrics(p):
        pred = p.predictions.argmax(-1)
        ref = p.label_ids
        tp = int(((pred == 1) & (ref == 1)).sum())
        precision = tp / max(int((pred == 1).sum()), 1)
        recall = tp / max(int((ref == 1).sum()), 1)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"accuracy": float((pred == ref).mean()), "f1": f1}

    class Clock(TrainerCallback):
        def __init__(self):
            self.begin, self.epochs, self.evals = None, [], []

        def on_train_begin(self, args, state, control, **kw):
            self.begin = time.perf_counter()

        def on_epoch_end(self, args, state, control, **kw):
            self.epochs.append({"epoch": round(state.epoch), "step": state.global_step, "seconds": time.perf_counter() - self.begin})

        def on_evaluate(self, args, state, control, metrics=None, **kw):
            acc = metrics["eval_accuracy"]
            self.evals.append({"epoch": round(state.epoch), "seconds": time.perf_counter() - self.begin, "accuracy": acc,
                               "f1": metrics["eval_f1"], "eval_seconds": metrics["eval_runtime"]})
            if acc >= a.target:
                control.should_training_stop = True

    clock = Clock()
    args = TrainingArguments(
        output_dir=os.path.join(work, "out"), per_device_train_batch_size=8, per_device_eval_batch_size=8,
        learning_rate=5e-5, num_train_epochs=a.epochs, weight_decay=0.0, warmup_steps=0, lr_scheduler_type="linear",
        max_grad_norm=1.0, seed=42, optim="adamw_torch", evaluation_strategy="epoch", save_strategy="no",
        logging_strategy="no", report_to=[], disable_tqdm=True, bf16=a.bf16, no_cuda=True,
        group_by_length=a.group_by_length, dataloader_num_workers=0)
    trainer = Trainer(model=model, args=args, train_dataset=train, eval_dataset=dev, tokenizer=tokenizer,
                      data_collator=DataCollatorWithPadding(tokenizer), compute_metrics=compute_metrics, callbacks=[clock])
    trainer.train()
    result = {
        "stack": f"transformers 4.26.1 (python-ref), torch {torch.__version__}", "train_examples": len(train),
        "eval_examples": len(dev), "epochs": clock.epochs, "evals": clock.evals,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, "threads": torch.get_num_threads(),
    }
    print("RESULT " + json.dumps(result), flush=True)
finally:
    shutil.rmtree(work, ignore_errors=True)
