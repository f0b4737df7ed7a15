#!/usr/bin/env python3
"""Reads the executed lessons (Jupyter JSON, as src/NotebookRunner writes them) and prints the figures lessons 05-08
quote, as Markdown, for notebooks/RESULTS.md. Usage: extract-lesson-results.py DIR (the runner's --output folder)."""
import html, json, os, re, sys

def outputs_text(path):
    """Every output of every code cell, HTML stripped to text, one block per output, in order."""
    nb = json.load(open(path, encoding="utf-8"))
    texts = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            text = data.get("text/plain") or out.get("text") or data.get("text/html") or ""
            if isinstance(text, list):
                text = "".join(text)
            text = re.sub(r"<style>.*?</style>", "", text, flags=re.S)
            text = re.sub(r"</(td|th)>", " | ", text)
            text = re.sub(r"</tr>", "\n", text)
            texts.append(html.unescape(re.sub(r"<[^>]+>", "", text)))
    return "\n".join(texts)

def find(pattern, text, default="not found"):
    m = re.search(pattern, text)
    return m.group(1) if m else default

folder = sys.argv[1]
def lesson(name):
    path = os.path.join(folder, name + ".ipynb")
    return outputs_text(path) if os.path.exists(path) else None

lines = []
t = lesson("05-train")
if t is not None:
    lines += ["### 05 · Train", "",
              '- data: ' + (find(r'(train \d+ pairs, validation \d+ pairs; training on [^\n]*)', t)),
              '- recipe: ' + (find(r'([\d.]+ epochs, batch \d+, learning rate [^\n]*)', t)),
              '- result: ' + (find(r'(\d+ steps, mean training loss [\d.]+)', t)),
              '- train_runtime: ' + (find(r'train_runtime \| ([\d.]+)', t)) + ' s', ""]
t = lesson("06-evaluate")
if t is not None:
    lines += ["### 06 · Evaluate", "",
              '- model: ' + (find(r'((?:evaluating lesson 05|no model from lesson 05)[^\n]*)', t)),
              '- validation: ' + (find(r'(validation \d+ pairs)', t)),
              '- eval_accuracy: ' + (find(r'eval_accuracy \| ([\d.]+)', t)) + ', eval_f1: ' + (find(r'eval_f1 \| ([\d.]+)', t)),
              '- misclassified: ' + (find(r'(\d+ of \d+ pairs misclassified)', t)), ""]
t = lesson("07-careful-hyperparameters")
if t is not None:
    lines += ["### 07 · Careful with hyperparameters", "",
              '- data: ' + (find(r'(train \d+ pairs, validation \d+ pairs)', t)), ""]
    for name in ["pretrained, learning rate 2e-05", "pretrained, learning rate 1e-03", "from scratch, learning rate 2e-05", "majority baseline"]:
        lines.append('- ' + name + ': ' + (find(re.escape(name) + r' \| (accuracy [^|\n]*)', t)))
    lines.append("")
t = lesson("08-lora")
if t is not None:
    lines += ["### 08 · LoRA", "",
              '- data: ' + (find(r'(train \d+ pairs, validation \d+ pairs)', t)),
              '- ' + (find(r'(trainable params: [^\n]*)', t)), "",
              "| | full fine-tuning | LoRA (r = 8, query and value) |", "|---|---|---|"]
    for row in ["trained parameters", "AdamW state (StateSizeInBytes)", "seconds per optimizer step (median)",
                "mean training loss", "validation accuracy", "validation F1"]:
        m = re.search(re.escape(row) + r" \| ([^|]*) \| ([^|]*) \|", t)
        lines.append('| ' + row + ' | ' + (m.group(1).strip() if m else '?') + ' | ' + (m.group(2).strip() if m else '?') + ' |')
    lines += ["", '- ' + (find(r'(AdamW state: LoRA needs [^\n]*)', t)),
              '- ' + (find(r'(reloaded adapter: [^\n]*)', t)), ""]
t = lesson("04-training-arguments")
if t is not None:
    lines += ["### 04 · Training arguments (step timing)", "",
              '- ' + (find(r'(fp32: [\d.]+ s per step \(median\))', t)) + '; ' + (find(r'(bf16: [\d.]+ s per step \(median\))', t)), ""]
print("\n".join(lines))
