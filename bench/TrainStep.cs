using System.Diagnostics;
using System.Text.Json;
using FineTuning.Amp;
using FineTuning.Models.Bert;
using FineTuning.Peft;
using FineTuning.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Benchmarks;

/// <summary>
/// Our side of the train-step comparison: <see cref="BertForSequenceClassification"/> and HF's AdamW groups
/// (<see cref="OptimizerFactory"/>) on the inputs pytorch_step.py builds — ids from a fixed seed, the last 16
/// positions of half the batch padded, token types 0 then 1 — timing what it times: zero_grad, forward (under
/// autocast for bf16), cross-entropy, backward, AdamW step, loss.item(). The optimizer is the library's default
/// (TrainingArguments.Optim "adamw_torch_fused", as HF's default with torch 2.8 or newer).
/// </summary>
public sealed class OurTrainStep : IDisposable
{
    readonly nn.Module model;
    readonly Func<Tensor, Tensor, Tensor, Tensor, Tensor> loss; // (ids, mask, types, labels) → loss
    readonly AdamW optimizer;
    readonly Tensor ids, types, mask, labels;

    /// <param name="lora">null: full fine-tuning; else the model wrapped with GetPeftModel (only adapters and head train).</param>
    public OurTrainStep(BertShape shape, int batch = 8, int seq = 128, LoraConfig? lora = null)
    {
        manual_seed(42);
        var bert = new BertForSequenceClassification(shape.Config());
        if (lora is null)
        {
            model = bert;
            loss = (i, m, t, l) => bert.forward(i, m, t, l).Loss!;
        }
        else
        {
            var peft = (PeftModelForSequenceClassification)PeftMapping.GetPeftModel(bert, lora);
            model = peft;
            loss = (i, m, t, l) => peft.forward(i, m, t, l).Loss!;
        }
        model.train();
        var args = new TrainingArguments { OutputDir = Path.GetTempPath(), LearningRate = 5e-5, WeightDecay = 0.01 };
        optimizer = OptimizerFactory.CreateOptimizer(model, args);
        ids = randint(1000, shape.Vocab, [batch, seq], dtype: ScalarType.Int64);
        types = zeros([batch, seq], dtype: ScalarType.Int64);
        types[.., (seq / 2)..] = 1;
        mask = ones([batch, seq], dtype: ScalarType.Int64);
        mask[..(batch / 2), (seq - 16)..] = 0;
        labels = randint(0, 2, [batch], dtype: ScalarType.Int64);
    }

    public float LastLoss { get; private set; }

    /// <summary>Parameters that train (requires_grad), and all of them.</summary>
    public (long Trainable, long All) Parameters =>
        (model.parameters().Where(p => p.requires_grad).Sum(p => p.numel()), model.parameters().Sum(p => p.numel()));

    /// <summary>AdamW's moments (exp_avg, exp_avg_sq), in bytes.</summary>
    public long OptimizerStateBytes => OptimizerFactory.StateSizeInBytes(optimizer);

    /// <summary>Runs <paramref name="warmup"/> untimed and <paramref name="steps"/> timed steps; returns each timed step in ms.</summary>
    public double[] Run(int warmup, int steps, bool bf16)
    {
        var times = new double[steps];
        for (int i = 0; i < warmup + steps; i++)
        {
            var clock = Stopwatch.StartNew();
            Step(bf16);
            if (i >= warmup) times[i - warmup] = clock.Elapsed.TotalMilliseconds;
        }
        return times;
    }

    void Step(bool bf16)
    {
        using var scope = NewDisposeScope();
        model.zero_grad(); // set_to_none, as pytorch_step.py's opt.zero_grad(set_to_none=True)
        Tensor loss;
        using (bf16 ? Autocast.Enable(ScalarType.BFloat16) : null)
            loss = this.loss(ids, mask, types, labels);
        loss.backward();
        optimizer.step();
        LastLoss = loss.item<float>();
    }

    public void Dispose()
    {
        optimizer.Dispose();
        model.Dispose();
        foreach (var t in new[] { ids, types, mask, labels }) t.Dispose();
    }
}

/// <summary>One run of ../shared/bench/pytorch_step.py: its RESULT line, or why there is none.</summary>
public sealed record PyTorchRun(double MedianMs, double MinMs, double MaxMs, string Lib, int Threads, double? LastLoss, string? Error)
{
    /// <summary>Runs the reference script in its own process with OMP_WAIT_POLICY=PASSIVE and <paramref name="threads"/> threads.</summary>
    public static PyTorchRun Run(Options o, BertShape shape, bool bf16, int warmup, int steps)
    {
        var script = Path.Combine(o.Shared, "bench", "pytorch_step.py");
        if (!File.Exists(script)) return Failed($"{script} not found");
        if (!File.Exists(o.Python)) return Failed($"{o.Python} not found");
        var psi = new ProcessStartInfo(o.Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { script, "--shape", shape.Name, "--warmup", $"{warmup}", "--steps", $"{steps}", "--threads", $"{o.Threads}" })
            psi.ArgumentList.Add(a);
        if (bf16) psi.ArgumentList.Add("--bf16");
        psi.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
        psi.Environment["OMP_NUM_THREADS"] = $"{o.Threads}";
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        var line = stdout.Split('\n').FirstOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal));
        if (p.ExitCode != 0 || line is null)
            return Failed($"exit {p.ExitCode}: {LastLines(stderr.Result + stdout, 3)}");
        using var json = JsonDocument.Parse(line["RESULT ".Length..]);
        var r = json.RootElement;
        return new PyTorchRun(r.GetProperty("median_ms").GetDouble(), r.GetProperty("min_ms").GetDouble(), r.GetProperty("max_ms").GetDouble(),
            r.GetProperty("lib").GetString() ?? "pytorch", r.GetProperty("threads").GetInt32(), r.GetProperty("last_loss").GetDouble(), null);
    }

    static PyTorchRun Failed(string why) => new(double.NaN, double.NaN, double.NaN, "pytorch", 0, null, why);

    static string LastLines(string text, int n) =>
        string.Join(" | ", text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(n));
}

/// <summary>Part a: one shape and precision, ours and PyTorch alternately.</summary>
public sealed record TrainStepResult(string Shape, bool Bf16, int Batch, int Seq, int Threads, int Rounds, int StepsPerRun,
    Figure OursMs, Figure? PyTorchMs, Figure? Speedup, string? PyTorchLib, string? PyTorchError, double OursLastLoss,
    double StepGFlop)
{
    /// <summary>
    /// Alternates <paramref name="o"/>.Rounds runs of ours (in this process) and of PyTorch (a new process each run),
    /// ours first in even rounds and PyTorch first in odd ones, so drifting load falls on both alike.
    /// Each run's median step time is one sample; the speedup of a round is PyTorch's median / ours.
    /// </summary>
    public static TrainStepResult Measure(Options o, BertShape shape, bool bf16, int batch = 8, int seq = 128)
    {
        int warmup = shape == BertShape.Base ? o.BaseWarmup : o.TinyWarmup;
        int steps = shape == BertShape.Base ? o.BaseSteps : o.TinySteps;
        using var ours = new OurTrainStep(shape, batch, seq);
        var oursRuns = new List<double>();
        var torchRuns = new List<PyTorchRun>();
        for (int round = 0; round < o.Rounds; round++)
        {
            void Ours()
            {
                oursRuns.Add(Figure.MedianOf(ours.Run(round == 0 ? warmup : Math.Min(warmup, 1), steps, bf16)));
                Console.WriteLine($"    ours    {shape.Name} {(bf16 ? "bf16" : "fp32")} round {round + 1}: {oursRuns[^1]:F1} ms/step");
            }
            void Torch()
            {
                torchRuns.Add(PyTorchRun.Run(o, shape, bf16, warmup, steps));
                var r = torchRuns[^1];
                Console.WriteLine($"    pytorch {shape.Name} {(bf16 ? "bf16" : "fp32")} round {round + 1}: " + (r.Error is null ? $"{r.MedianMs:F1} ms/step" : $"failed: {r.Error}"));
            }
            if (round % 2 == 0) { Ours(); Torch(); } else { Torch(); Ours(); }
        }
        var ok = torchRuns.Where(r => r.Error is null).ToList();
        var paired = oursRuns.Zip(torchRuns).Where(p => p.Second.Error is null).Select(p => p.Second.MedianMs / p.First).ToList();
        return new TrainStepResult(shape.Name, bf16, batch, seq, o.Threads, o.Rounds, steps,
            Figure.Of(oursRuns), ok.Count > 0 ? Figure.Of(ok.Select(r => r.MedianMs)) : null,
            paired.Count > 0 ? Figure.Of(paired) : null, ok.FirstOrDefault()?.Lib,
            torchRuns.FirstOrDefault(r => r.Error is not null)?.Error, ours.LastLoss, shape.TrainStepFlops(batch, seq) / 1e9);
    }
}
