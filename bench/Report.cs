using System.Globalization;
using System.Text;

namespace FineTuning.Benchmarks;

/// <summary>Where and how the benchmark ran.</summary>
public sealed record RunInfo(string Date, string Machine, int Threads, string OmpWaitPolicy, double[] LoadBefore, double[] LoadAfter,
    IReadOnlyList<string> LibTorchMapped, string? TorchSharpNativeDir, bool Quick, string Command, double WallSeconds);

/// <summary>Everything one invocation measured (report.json).</summary>
public sealed class BenchReport
{
    public required RunInfo Run { get; set; }
    public List<TrainStepResult> TrainSteps { get; } = [];
    public List<MatmulCeiling> Ceilings { get; } = [];
    public PyTorchMatmul? PyTorchMatmul { get; set; }
    public EpochResult? Epoch { get; set; }
    public TokenizerResult? Tokenizer { get; set; }
    public MemoryResult? Memory { get; set; }
    public List<AblationResult> Ablations { get; } = [];
    public List<LoraCostResult> Lora { get; } = [];
    public RealModelResult? RealModel { get; set; }
    public List<StepProfileResult> Profiles { get; } = [];
    public List<TargetResult> Targets => Report.Targets(this);
}

/// <summary>report.md: the targets with PASS / FALL SHORT first, then one section per part.</summary>
public static class Report
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static List<TargetResult> Targets(BenchReport r)
    {
        var targets = new List<TargetResult>();
        foreach (var (shape, bf16, need) in new[] { ("tiny", false, 1.2), ("base", false, 1.2), ("tiny", true, 1.0), ("base", true, 1.0) })
        {
            var t = r.TrainSteps.FirstOrDefault(x => x.Shape == shape && x.Bf16 == bf16);
            string name = $"train step bert-{shape} {(bf16 ? "bf16" : "fp32")} ≥ {need:F1}× PyTorch eager{(bf16 ? " bf16 autocast" : "")}";
            targets.Add(t?.Speedup is { } s
                ? new TargetResult(name, $"{s.Format("F2")}×", s.Median >= need)
                : new TargetResult(name, t?.PyTorchError ?? "not run", null));
        }
        var fp32 = r.Ceilings.FirstOrDefault(c => c.Path == "Float32");
        var baseFp32 = r.TrainSteps.FirstOrDefault(x => x.Shape == "base" && !x.Bf16);
        targets.Add(fp32 is not null && baseFp32 is not null
            ? new TargetResult("bert-base step (fp32) ≥ 60% of the fp32 matmul ceiling",
                $"{100 * Achieved(baseFp32.StepGFlop, baseFp32.OursMs.Median) / fp32.Ceiling:F0}% ({Achieved(baseFp32.StepGFlop, baseFp32.OursMs.Median):F0} of {fp32.Ceiling:F0} GFLOP/s)",
                Achieved(baseFp32.StepGFlop, baseFp32.OursMs.Median) / fp32.Ceiling >= 0.6)
            : new TargetResult("bert-base step (fp32) ≥ 60% of the fp32 matmul ceiling", "not run", null));
        if (r.Epoch is { } e)
        {
            var max = e.Variants[0];
            var dyn = e.Variants[1];
            var grouped = e.Variants[2];
            double speedup = max.Seconds.Median / dyn.Seconds.Median;
            targets.Add(new TargetResult("dynamic padding epoch ≥ 2.5× faster than max_length 128", $"{speedup:F2}×", speedup >= 2.5,
                $"with GroupByLength {max.Seconds.Median / grouped.Seconds.Median:F2}×"));
            // Compared as examples per second, so that a --quick run over part of the epoch compares fairly too.
            targets.Add(e.Hf is { } hf
                ? new TargetResult("our MRPC epoch faster than the HF Trainer's",
                    $"{dyn.Seconds.Median:F1} s for {e.Examples} examples ({dyn.ExamplesPerSecond.Median:F0}/s) vs HF {hf.EpochSeconds:F1} s for 3668 ({hf.SamplesPerSecond:F0}/s): "
                    + $"{dyn.ExamplesPerSecond.Median / hf.SamplesPerSecond:F2}×",
                    dyn.ExamplesPerSecond.Median > hf.SamplesPerSecond, "HF's figure is from the baseline json (its machine), not this run")
                : new TargetResult("our MRPC epoch faster than the HF Trainer's", "hf_trainer_baseline.json not found", null));
        }
        else
        {
            targets.Add(new TargetResult("dynamic padding epoch ≥ 2.5× faster than max_length 128", "not run", null));
            targets.Add(new TargetResult("our MRPC epoch faster than the HF Trainer's", "not run", null));
        }
        if (r.RealModel is { Error: null } g)
        {
            var ours = g.Of("ours", RealModelResult.Same).ToList();
            var hf = g.Of("Hugging Face", RealModelResult.Same).ToList();
            var fast = g.Of("ours", RealModelResult.Fast).ToList();
            const string speedName = "real model (part g): our examples/s ≥ 2× HF Trainer's, same recipe";
            if (ours.Count > 0 && hf.Count > 0)
            {
                double o = Figure.MedianOf(ours.Select(x => x.ExamplesPerSecond).ToList()), h = Figure.MedianOf(hf.Select(x => x.ExamplesPerSecond).ToList());
                targets.Add(new TargetResult(speedName, $"{o:F1} vs {h:F1} examples/s: {o / h:F2}×", o / h >= 2));
            }
            else targets.Add(new TargetResult(speedName, "a stack failed: see part g", null));
            const string evalName = "real model: evaluation (predict over dev) examples/s ≥ HF's";
            if (ours.Count > 0 && hf.Count > 0)
            {
                double o = Figure.MedianOf(ours.Select(x => x.EvalExamplesPerSecond).ToList()), h = Figure.MedianOf(hf.Select(x => x.EvalExamplesPerSecond).ToList());
                targets.Add(new TargetResult(evalName, $"{o:F0} vs {h:F0} examples/s: {o / h:F2}×", o >= h));
            }
            string ttaName = $"real model: time to dev accuracy ≥ {g.Target:F2}, ours (fast) ≤ ⅓ of HF's";
            var tOurs = fast.Select(x => x.SecondsTo(g.Target)).Where(x => x is not null).Select(x => x!.Value).ToList();
            var tHf = hf.Select(x => x.SecondsTo(g.Target)).Where(x => x is not null).Select(x => x!.Value).ToList();
            targets.Add(tOurs.Count > 0 && tHf.Count > 0
                ? new TargetResult(ttaName, $"{Figure.MedianOf(tOurs):F0} s vs {Figure.MedianOf(tHf):F0} s: {Figure.MedianOf(tOurs) / Figure.MedianOf(tHf):F2} of HF's",
                    Figure.MedianOf(tOurs) <= Figure.MedianOf(tHf) / 3)
                : new TargetResult(ttaName, $"not reached within {g.MaxEpochs} epoch(s) by " + (tOurs.Count == 0 ? "ours" : "HF"), null));
        }
        targets.Add(r.Memory is { Error: null } m
            ? new TargetResult($"memory growth < 5% from step 100 to {m.Steps}", $"{m.GrowthPercent:+0.0;-0.0}%", m.GrowthPercent < 5)
            : new TargetResult("memory growth < 5% from step 100 to 1000", r.Memory?.Error ?? "not run", null));
        return targets;
    }

    /// <summary>GFLOP/s of a step of <paramref name="gflop"/> taking <paramref name="ms"/>.</summary>
    public static double Achieved(double gflop, double ms) => gflop / (ms / 1000);

    static string Mib(long bytes) => (bytes / 1048576.0).ToString("F1", Inv) + " MiB";

    public static string Markdown(BenchReport r)
    {
        var s = new StringBuilder();
        var run = r.Run;
        s.AppendLine($"# Benchmark report{(run.Quick ? " (--quick: a smoke run, too few steps to quote)" : "")}");
        s.AppendLine();
        s.AppendLine($"- **Machine**: {run.Machine}; {run.Threads} intra-op threads for both stacks; OMP_WAIT_POLICY={run.OmpWaitPolicy}");
        s.AppendLine($"- **Load average** (1/5/15 min) before: {string.Join(" ", run.LoadBefore.Select(x => x.ToString("F2", Inv)))}; after: {string.Join(" ", run.LoadAfter.Select(x => x.ToString("F2", Inv)))}");
        s.AppendLine($"- **libtorch in this process**: {string.Join(", ", run.LibTorchMapped.Select(p => Path.GetRelativePath(Options.RepoRoot, p)))} "
            + "(TorchSharp's own 2.10, loaded by full path; Debian's 1.13 is not mapped)");
        var lib = r.TrainSteps.Select(t => t.PyTorchLib).FirstOrDefault(l => l is not null);
        if (lib is not null) s.AppendLine($"- **PyTorch**: {lib} (Debian python3-torch, OpenBLAS openmp), run as ../shared/bench/pytorch_step.py");
        s.AppendLine($"- **Command**: `{run.Command}` — {run.Date}, {run.WallSeconds / 60:F1} min");
        s.AppendLine("- Figures: median of the runs (min–max in brackets).");
        s.AppendLine();
        if (r.Targets.Any(t => t.Measured != "not run"))
        {
            s.AppendLine("## Targets");
            s.AppendLine();
            s.AppendLine("| target | measured | verdict |");
            s.AppendLine("|---|---|---|");
            foreach (var t in r.Targets.Where(t => t.Measured != "not run"))
                s.AppendLine($"| {t.Target} | {t.Measured}{(t.Note.Length > 0 ? $" — {t.Note}" : "")} | **{t.Verdict}** |");
            s.AppendLine();
        }

        if (r.TrainSteps.Count > 0)
        {
            var first = r.TrainSteps[0];
            s.AppendLine($"## a. Train step (batch {first.Batch} × {first.Seq} tokens: zero_grad, forward, loss, backward, AdamW)");
            s.AppendLine();
            s.AppendLine($"{first.Rounds} runs of each stack, taking turns (ours in this process, PyTorch a new process per run); a run's figure is the median "
                + "of its timed steps, after warm-up. Speedup = PyTorch's step time / ours, per round. Same inputs, same threads; PyTorch's AdamW is torch 1.13's "
                + "(no fused CPU kernel there), ours the library's default FusedAdamW (HF's adamw_torch_fused).");
            s.AppendLine();
            s.AppendLine("| shape | precision | steps/run | ours ms/step | PyTorch ms/step | speedup | ours seq/s | PyTorch seq/s |");
            s.AppendLine("|---|---|---|---|---|---|---|---|");
            foreach (var t in r.TrainSteps)
            {
                string torch = t.PyTorchMs?.Format() ?? $"failed: {t.PyTorchError}";
                s.AppendLine($"| bert-{t.Shape} | {(t.Bf16 ? "bf16 autocast" : "fp32")} | {t.StepsPerRun} | {t.OursMs.Format()} | {torch} | {t.Speedup?.Format("F2") ?? "–"}× | "
                    + $"{t.Batch * 1000 / t.OursMs.Median:F1} | {(t.PyTorchMs is { } p ? (t.Batch * 1000 / p.Median).ToString("F1", Inv) : "–")} |");
            }
            s.AppendLine();
        }

        if (r.Ceilings.Count > 0)
        {
            s.AppendLine("## b. The ceiling: square matmuls through libtorch (TorchSharp's 2.10, MKL)");
            s.AppendLine();
            var sizes = r.Ceilings.SelectMany(c => c.GflopsBySize.Keys).Distinct().Order().ToArray();
            s.AppendLine("GFLOP/s, median of the repetitions (best in brackets). Ceiling = the best repetition of any size: load only slows a product down.");
            s.AppendLine();
            s.AppendLine($"| product | {string.Join(" | ", sizes.Select(n => $"{n}²"))} | ceiling |");
            s.AppendLine($"|---|{string.Concat(sizes.Select(_ => "---|"))}---|");
            foreach (var c in r.Ceilings)
                s.AppendLine($"| {c.Path} | {string.Join(" | ", sizes.Select(n => c.GflopsBySize.TryGetValue(n, out var f) ? $"{f.Median:F0} ({f.Max:F0})" : "–"))} | **{c.Ceiling:F0}** |");
            s.AppendLine();
            if (r.PyTorchMatmul is { Error: null } pm)
                s.AppendLine($"For comparison, the PyTorch of part a (Debian's torch 1.13, OpenBLAS through the generic BLAS interface, AVX2 kernels) reaches "
                    + $"{pm.Float32Gflops:F0} GFLOP/s fp32 and {pm.BFloat16Gflops:F0} bf16 at {pm.Size}² (best of 5): most of the gap in part a is that. "
                    + "A current pip PyTorch (2.x, MKL) runs the same GEMMs as ours.");
            s.AppendLine();
            var baseSteps = r.TrainSteps.Where(t => t.Shape == "base").ToList();
            if (baseSteps.Count > 0)
            {
                s.AppendLine($"bert-base step: {baseSteps[0].StepGFlop:F0} GFLOP (6 × 85M matmul weights × 1024 tokens + attention products, forward + backward).");
                s.AppendLine();
                s.AppendLine("| step | ours GFLOP/s | of the ceiling | PyTorch GFLOP/s | of the same ceiling |");
                s.AppendLine("|---|---|---|---|---|");
                foreach (var t in baseSteps)
                {
                    // bf16 is measured against the path our bf16 layers take (emulated on CPUs without bf16 instructions).
                    var ceiling = r.Ceilings.FirstOrDefault(c => c.Path == (t.Bf16 ? "BFloat16 via Autocast" : "Float32"));
                    if (ceiling is null) continue;
                    double ours = Achieved(t.StepGFlop, t.OursMs.Median);
                    string torch = t.PyTorchMs is { } p ? $"{Achieved(t.StepGFlop, p.Median):F0} | {100 * Achieved(t.StepGFlop, p.Median) / ceiling.Ceiling:F0}%" : "– | –";
                    s.AppendLine($"| bert-base {(t.Bf16 ? "bf16 (vs the Autocast bf16 ceiling)" : "fp32")} | {ours:F0} | {100 * ours / ceiling.Ceiling:F0}% | {torch} |");
                }
                s.AppendLine();
            }
        }

        if (r.Epoch is { } e)
        {
            s.AppendLine($"## c. One MRPC epoch through the Trainer (bert-tiny shape, batch 8, {e.Examples} examples: {e.MeanTokens:F1} tokens on average, at most {e.MaxTokens})");
            s.AppendLine();
            s.AppendLine("| padding | epoch s | examples/s | real tokens | processed tokens | real share | fewer tokens than max_length | faster than max_length |");
            s.AppendLine("|---|---|---|---|---|---|---|---|");
            foreach (var v in e.Variants)
                s.AppendLine($"| {v.Name} | {v.Seconds.Format()} | {v.ExamplesPerSecond.Format("F0")} | {v.RealTokens:N0} | {v.ProcessedTokens:N0} | {100 * v.RealShare:F0}% | "
                    + $"{(double)e.Variants[0].ProcessedTokens / v.ProcessedTokens:F2}× | {e.Variants[0].Seconds.Median / v.Seconds.Median:F2}× |");
            s.AppendLine();
            s.AppendLine("An epoch's time follows the tokens it processes (plus a fixed cost per step: the optimizer, clipping, dropout's random numbers); "
                + "padding can save at most the share of padding tokens, so the speedup over max_length is bounded by the token ratio of that column.");
            s.AppendLine();
            if (e.Hf is { } hf)
                s.AppendLine($"Hugging Face Trainer (../shared/bench/hf_trainer_baseline.json, run {hf.Run}: dynamic padding, random order, batch 8, {hf.Stack.Split(';')[0]}; "
                    + $"recorded on {hf.Machine}): {hf.TrainRuntime:F1} s for {hf.Epochs} epochs, less {hf.EvalSeconds:F1} s of evaluation = **{hf.EpochSeconds:F1} s per epoch** ({hf.SamplesPerSecond:F0} examples/s). "
                    + $"Ours with the same recipe (dynamic): **{e.Variants[1].Seconds.Median:F1} s** for {e.Examples} examples ({e.Variants[1].ExamplesPerSecond.Median:F0} examples/s, "
                    + $"{e.Variants[1].ExamplesPerSecond.Median / hf.SamplesPerSecond:F2}× HF's rate).");
            s.AppendLine();
        }

        if (r.Tokenizer is { } tok)
        {
            s.AppendLine("## d. Tokenizer (MRPC train pairs, truncation, one thread)");
            s.AppendLine();
            s.AppendLine($"Ours: **{tok.PairsPerSecond.Format("F0")} pairs/s** over {tok.Pairs} pairs."
                + (tok.HfPairsPerSecond is { } hf ? $" For scale: {hf:F0} pairs/s — {tok.HfNote}." : ""));
            s.AppendLine();
        }

        if (r.Memory is { } m)
        {
            s.AppendLine($"## e. Memory over {m.Steps} bert-tiny Trainer steps (MRPC, dynamic padding, a fresh process)");
            s.AppendLine();
            if (m.Error is not null) s.AppendLine($"Failed: {m.Error}");
            else
            {
                s.AppendLine("| step | " + string.Join(" | ", m.Samples.Select(x => x.Step)) + " |");
                s.AppendLine("|---|" + string.Concat(m.Samples.Select(_ => "---|")));
                s.AppendLine("| RSS MiB | " + string.Join(" | ", m.Samples.Select(x => (x.ResidentBytes / 1048576.0).ToString("F0", Inv))) + " |");
                s.AppendLine("| live tensors | " + string.Join(" | ", m.Samples.Select(x => x.LiveTensors)) + " |");
                s.AppendLine();
                var after = m.Samples.Where(x => x.Step > 100).Select(x => x.ResidentBytes / 1048576.0).DefaultIfEmpty(0).ToArray();
                s.AppendLine($"Resident memory growth from step 100 to {m.Steps}: **{m.GrowthPercent:+0.0;-0.0}%**; the samples after step 100 stay within "
                    + $"{after.Min():F0}–{after.Max():F0} MiB (allocator churn, not growth). Live tensors: the Trainer's thread after each step. {m.Seconds:F0} s for the run.");
            }
            s.AppendLine();
        }
        if (r.Lora.Count > 0)
        {
            var first = r.Lora[0];
            s.AppendLine($"## f. LoRA against full fine-tuning (batch 8 × 128, fp32; r {LoraCostResult.Config.R}, alpha {LoraCostResult.Config.LoraAlpha}, query and value, classifier trained)");
            s.AppendLine();
            s.AppendLine($"{first.Rounds} runs of each, taking turns in one process; AdamW's state is its two fp32 moments per trainable parameter.");
            s.AppendLine();
            s.AppendLine("| shape | parameters | trainable, full | trainable, LoRA | AdamW state, full | AdamW state, LoRA | step ms, full | step ms, LoRA | LoRA speedup |");
            s.AppendLine("|---|---|---|---|---|---|---|---|---|");
            foreach (var l in r.Lora)
                s.AppendLine($"| bert-{l.Shape} | {l.AllParameters:N0} | {l.FullTrainable:N0} | {l.LoraTrainable:N0} ({100.0 * l.LoraTrainable / l.AllParameters:F2}%) | "
                    + $"{Mib(l.FullStateBytes)} | {Mib(l.LoraStateBytes)} ({(double)l.FullStateBytes / l.LoraStateBytes:F0}× less) | {l.FullMs.Format()} | {l.LoraMs.Format()} | "
                    + $"{l.FullMs.Median / l.LoraMs.Median:F2}× |");
            s.AppendLine();
        }

        if (r.RealModel is { } g)
        {
            s.AppendLine($"## g. The real model on MRPC: our Trainer and Hugging Face's, taking turns");
            s.AppendLine();
            if (g.Error is not null) s.AppendLine($"Not measured: {g.Error}.");
            else
            {
                s.AppendLine($"Model folder `{g.Model}`. Each run is a fresh process (peak RSS is its own) training until dev accuracy ≥ {g.Target:F2} "
                    + $"or {g.MaxEpochs} epochs (the linear schedule spans {g.MaxEpochs}), evaluating each epoch. Same recipe: dynamic padding, batch 8, "
                    + "lr 5e-5, AdamW (ours: the default fused kernel; HF: `adamw_torch`, torch 1.13 has no fused CPU AdamW), no warmup, weight decay 0, "
                    + "max_grad_norm 1, seed 42, fp32. Fast (ours): the same plus GroupByLength and bf16 autocast "
                    + (Machine.HasNativeBf16() ? "(this CPU has AVX-512 BF16 / AMX)." : "— not on this CPU (no AVX-512 BF16 / AMX): fp32.")
                    + " HF: transformers 4.26.1 (../shared/python-ref) on Debian's torch 1.13.1 (OpenBLAS), its slow BertTokenizer, bench/hf_trainer.py.");
                s.AppendLine();
                s.AppendLine("| stack | recipe | train / dev examples | examples/s (epoch 1) | dev accuracy per epoch (F1) | wall s at each evaluation | " + $"time to ≥ {g.Target:F2} | evaluation examples/s | peak RSS MiB |");
                s.AppendLine("|---|---|---|---|---|---|---|---|---|");
                foreach (var x in g.Runs)
                {
                    if (x.Error is not null) { s.AppendLine($"| {x.Stack} | {x.Variant} | failed: {x.Error} | | | | | | |"); continue; }
                    s.AppendLine($"| {x.Stack} | {x.Variant} | {x.TrainExamples} / {x.EvalExamples} | {x.ExamplesPerSecond:F1} | "
                        + string.Join(", ", x.Evals.Select(v => $"{v.Accuracy:F3} ({v.F1:F3})")) + " | " + string.Join(", ", x.Evals.Select(v => $"{v.Seconds:F0}"))
                        + $" | {(x.SecondsTo(g.Target) is { } t ? $"{t:F0} s" : "not reached")} | {x.EvalExamplesPerSecond:F0} | {x.PeakRssMiB:F0} |");
                }
                s.AppendLine();
            }
        }

        if (r.Profiles.Count > 0)
        {
            var ceiling = r.Ceilings.FirstOrDefault(c => c.Path == "Float32")?.Ceiling;
            s.AppendLine("## p. Where a train step's time goes (batch 8 × 128; median ms per phase; variants taking turns in one process)");
            s.AppendLine();
            s.AppendLine("| shape | precision | variant | forward | backward | clip | AdamW + zero_grad | step | GFLOP/s |");
            s.AppendLine("|---|---|---|---|---|---|---|---|---|");
            foreach (var p in r.Profiles)
                foreach (var v in p.Variants)
                    s.AppendLine($"| {p.Shape} | {p.Precision} | {v.Variant} | {v.ForwardMs:F0} | {v.BackwardMs:F0} | {v.ClipMs:F0} | {v.OptimizerMs:F0} | {v.TotalMs:F0} | {p.StepGFlop / (v.TotalMs / 1000):F0} |");
            s.AppendLine();
            s.AppendLine("GC.Collect(1) (the Trainer's, every 10 steps): " + string.Join(", ", r.Profiles.Select(p => $"{p.Shape} {p.Precision} {p.GcCollectMs:F2} ms"))
                + "; loss.item(): " + string.Join(", ", r.Profiles.Select(p => $"{p.ItemMs:F3} ms")) + ".");
            s.AppendLine();
        }

        if (r.Ablations.Count > 0)
        {
            s.AppendLine("## x. What each change buys (train step, batch 8 × 128, fp32; variants taking turns in one process)");
            s.AppendLine();
            s.AppendLine("| variant | " + string.Join(" | ", r.Ablations.Select(a => $"bert-{a.Shape} ms/step")) + " |");
            s.AppendLine("|---|" + string.Concat(r.Ablations.Select(_ => "---|")));
            for (int v = 0; v < r.Ablations[0].Variants.Count; v++)
                s.AppendLine($"| {r.Ablations[0].Variants[v]} | " + string.Join(" | ", r.Ablations.Select(a =>
                    $"{a.StepMs[v].Format()} ({a.StepMs[0].Median / a.StepMs[v].Median:F2}×)")) + " |");
            s.AppendLine();
            s.AppendLine("(×: speed relative to the first row.)");
            s.AppendLine();
        }
        return s.ToString();
    }
}
