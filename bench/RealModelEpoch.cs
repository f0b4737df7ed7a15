using System.Diagnostics;
using System.Text.Json;
using FineTuning.Amp;
using FineTuning.Data;
using FineTuning.Evaluation;
using FineTuning.Models;
using FineTuning.Tokenizers;
using FineTuning.Training;
using static TorchSharp.torch;

namespace FineTuning.Benchmarks;

/// <summary>One epoch's end or one evaluation, in seconds since training began (the Trainer's on_train_begin).</summary>
public sealed record EpochMark(int Epoch, int Step, double Seconds);

/// <summary>An evaluation on MRPC dev: when it finished (seconds since training began), accuracy, F1, its own duration.</summary>
public sealed record EvalMark(int Epoch, double Seconds, double Accuracy, double F1, double EvalSeconds);

/// <summary>
/// One training run of part g, in its own process (so its peak resident memory is its own): our Trainer
/// (<c>--child real</c>) or Hugging Face's (bench/hf_trainer.py), fine-tuning the model folder on MRPC with the course's
/// recipe until dev accuracy reaches the target or the epochs run out.
/// </summary>
public sealed record RealRun(string Stack, string Variant, int TrainExamples, int EvalExamples, IReadOnlyList<EpochMark> Epochs,
    IReadOnlyList<EvalMark> Evals, double PeakRssMiB, string? Error)
{
    /// <summary>Training examples per second over the first epoch (its evaluation not included).</summary>
    public double ExamplesPerSecond => Epochs.Count > 0 ? TrainExamples / Epochs[0].Seconds : double.NaN;

    /// <summary>Evaluation (prediction over dev, batch 8, with metrics) examples per second: the median over the
    /// run's evaluations of each one's own runtime (HF: eval_runtime; ours the same).</summary>
    public double EvalExamplesPerSecond => Evals.Count > 0 ? Figure.MedianOf(Evals.Select(e => EvalExamples / e.EvalSeconds).ToList()) : double.NaN;

    /// <summary>Seconds from the start of training to the end of the first evaluation reaching <paramref name="target"/>.</summary>
    public double? SecondsTo(double target) => Evals.FirstOrDefault(e => e.Accuracy >= target)?.Seconds;

    public static RealRun Failed(string stack, string variant, string why) => new(stack, variant, 0, 0, [], [], double.NaN, why);
}

/// <summary>
/// Part g: all-MiniLM-L6-v2 (any Hugging Face BERT folder: <c>--model</c>) on GLUE MRPC, through our Trainer and
/// through the Hugging Face Trainer (transformers 4.26.1, ../shared/python-ref, Debian's torch 1.13), taking turns
/// in one run. The same recipe for both ("same"): dynamic padding, batch 8, lr 5e-5, AdamW, linear schedule over
/// <see cref="Options.RealEpochs"/> epochs, seed 42, evaluation each epoch; each run stops at the first evaluation whose
/// accuracy reaches <see cref="Options.Target"/>. Ours also runs "fast": what the library offers on top (bf16 autocast
/// where the CPU has AVX-512 BF16 or AMX, GroupByLength; fused AdamW is in both of ours, it is the default).
/// </summary>
public sealed record RealModelResult(string Model, double Target, int MaxEpochs, IReadOnlyList<RealRun> Runs, string? Error)
{
    public const string Same = "same recipe";
    public const string Fast = "fast";

    public IEnumerable<RealRun> Of(string stack, string variant) => Runs.Where(r => r.Stack == stack && r.Variant == variant && r.Error is null);

    public static RealModelResult Measure(Options o)
    {
        if (o.Model is null || !File.Exists(Path.Combine(o.Model, "config.json")))
            return new RealModelResult(o.Model ?? "", o.Target, o.RealEpochs, [],
                "no model folder: pass --model DIR (all-MiniLM-L6-v2 as a Hugging Face folder) or set FINETUNING_MINILM");
        var script = Path.Combine(Options.RepoRoot, "bench", "hf_trainer.py");
        var runs = new List<RealRun>();
        var jobs = new (string Stack, string Variant)[] { ("ours", Same), ("Hugging Face", Same), ("ours", Fast) };
        for (int round = 0; round < o.RealRounds; round++)
            for (int j = 0; j < jobs.Length; j++)
            {
                var (stack, variant) = jobs[(j + round) % jobs.Length]; // rotate who goes first
                var run = stack == "ours" ? InChild(o, variant) : Hf(o, script);
                runs.Add(run);
                Console.WriteLine(run.Error is { } e ? $"    {stack}, {variant}: failed: {e}"
                    : $"    {stack}, {variant}: {run.ExamplesPerSecond:F1} examples/s in epoch 1, accuracy "
                      + string.Join(" / ", run.Evals.Select(v => $"{v.Accuracy:F3} at {v.Seconds:F0} s")) + $", peak RSS {run.PeakRssMiB:F0} MiB");
            }
        return new RealModelResult(o.Model, o.Target, o.RealEpochs, runs, null);
    }

    static RealRun InChild(Options o, string variant)
    {
        var file = Path.Combine(Path.GetTempPath(), $"finetuning-bench-real-{Environment.ProcessId}.json");
        var psi = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
            psi.ArgumentList.Add(typeof(RealModelResult).Assembly.Location);
        foreach (var a in new[] { "--child", "real", "--child-variant", variant, "--child-out", file, "--shared", o.Shared,
                                  "--threads", $"{o.Threads}", "--model", o.Model!, "--target", $"{o.Target}", "--real-epochs", $"{o.RealEpochs}" })
            psi.ArgumentList.Add(a);
        if (o.Quick) psi.ArgumentList.Add("--quick");
        psi.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
        using var p = Process.Start(psi)!;
        p.WaitForExit();
        if (p.ExitCode != 0 || !File.Exists(file)) return RealRun.Failed("ours", variant, $"the child process failed (exit {p.ExitCode})");
        var run = JsonSerializer.Deserialize<RealRun>(File.ReadAllText(file))!;
        File.Delete(file);
        return run;
    }

    static RealRun Hf(Options o, string script)
    {
        const string stack = "Hugging Face";
        var pythonRef = Path.Combine(o.Shared, "python-ref");
        if (!File.Exists(o.Python)) return RealRun.Failed(stack, Same, $"{o.Python} not found");
        if (!File.Exists(Path.Combine(pythonRef, "hf_env.py"))) return RealRun.Failed(stack, Same, $"{pythonRef} not found");
        var psi = new ProcessStartInfo(o.Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { script, "--model", o.Model!, "--python-ref", pythonRef, "--mrpc", Path.Combine(o.Shared, "assets", "mrpc"),
                                  "--epochs", $"{o.RealEpochs}", "--target", $"{o.Target}", "--threads", $"{o.Threads}" })
            psi.ArgumentList.Add(a);
        if (o.Quick) foreach (var a in new[] { "--max-train", $"{QuickTrain}", "--max-eval", $"{QuickEval}" }) psi.ArgumentList.Add(a);
        psi.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
        psi.Environment["OMP_NUM_THREADS"] = $"{o.Threads}";
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        var line = stdout.Split('\n').FirstOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal));
        if (p.ExitCode != 0 || line is null)
        {
            var tail = string.Join(" | ", (stderr.Result + stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(3));
            return RealRun.Failed(stack, Same, $"exit {p.ExitCode}: {tail}");
        }
        using var json = JsonDocument.Parse(line["RESULT ".Length..]);
        var r = json.RootElement;
        return new RealRun(stack, Same, r.GetProperty("train_examples").GetInt32(), r.GetProperty("eval_examples").GetInt32(),
            r.GetProperty("epochs").EnumerateArray().Select(e => new EpochMark(e.GetProperty("epoch").GetInt32(), e.GetProperty("step").GetInt32(),
                e.GetProperty("seconds").GetDouble())).ToList(),
            r.GetProperty("evals").EnumerateArray().Select(e => new EvalMark(e.GetProperty("epoch").GetInt32(), e.GetProperty("seconds").GetDouble(),
                e.GetProperty("accuracy").GetDouble(), e.GetProperty("f1").GetDouble(), e.GetProperty("eval_seconds").GetDouble())).ToList(),
            r.GetProperty("peak_rss_mib").GetDouble(), null);
    }

    const int QuickTrain = 400, QuickEval = 100;

    /// <summary>The child's work: one run of our Trainer, as the course writes it.</summary>
    public static RealRun MeasureHere(Options o, string variant)
    {
        bool fast = variant == Fast;
        var tokenizer = AutoTokenizer.FromPretrained(o.Model!);
        var raw = Datasets.LoadDataset("glue", "mrpc", dataDir: Path.Combine(o.Shared, "assets", "mrpc"));
        Dataset Tokenize(Dataset d, int? limit) =>
            (limit is { } n ? d.Select(Enumerable.Range(0, Math.Min(n, d.Count))) : d)
            .Map(b => tokenizer.Call(b.Strings("sentence1"), b.Strings("sentence2"), truncation: true), batched: true)
            .RemoveColumns("sentence1", "sentence2", "idx");
        var train = Tokenize(raw["train"], o.Quick ? QuickTrain : null);
        var dev = Tokenize(raw["validation"], o.Quick ? QuickEval : null);
        manual_seed(42);
        using var model = AutoModelForSequenceClassification.FromPretrained(o.Model!, numLabels: 2);
        var output = Path.Combine(Path.GetTempPath(), $"finetuning-bench-real-{Environment.ProcessId}");
        var args = new TrainingArguments
        {
            OutputDir = output, NumTrainEpochs = o.RealEpochs, PerDeviceTrainBatchSize = 8, PerDeviceEvalBatchSize = 8,
            LearningRate = 5e-5, Seed = 42, EvalStrategy = IntervalStrategy.Epoch, SaveStrategy = SaveStrategy.No,
            LoggingStrategy = IntervalStrategy.No, DisableTqdm = true,
            Bf16 = fast && !Autocast.EmulateBf16Gemm, // bf16 only where the CPU computes it natively
            GroupByLength = fast,
        };
        var clock = new Clock(o.Target);
        var trainer = new Trainer(model, args, train, dev, new DataCollatorWithPadding(tokenizer), tokenizer,
                                  p => GlueMetric.For("mrpc")(p), [clock]);
        trainer.Train();
        if (Directory.Exists(output)) Directory.Delete(output, recursive: true);
        return new RealRun("ours", variant,
            train.Count, dev.Count, clock.Epochs, clock.Evals, Machine.PeakRssMiB(), null);
    }

    /// <summary>Wall-clock marks of the run; stops training at the first evaluation that reaches the target.</summary>
    sealed class Clock(double target) : TrainerCallback
    {
        readonly Stopwatch watch = new();
        public List<EpochMark> Epochs { get; } = [];
        public List<EvalMark> Evals { get; } = [];

        public override void OnTrainBegin(TrainingArguments args, TrainerState state, TrainerControl control) => watch.Restart();

        public override void OnEpochEnd(TrainingArguments args, TrainerState state, TrainerControl control) =>
            Epochs.Add(new EpochMark((int)Math.Round(state.Epoch ?? 0), state.GlobalStep, watch.Elapsed.TotalSeconds));

        public override void OnEvaluate(TrainingArguments args, TrainerState state, TrainerControl control, IReadOnlyDictionary<string, double> metrics)
        {
            Evals.Add(new EvalMark((int)Math.Round(state.Epoch ?? 0), watch.Elapsed.TotalSeconds, metrics["eval_accuracy"], metrics["eval_f1"],
                metrics["eval_runtime"]));
            if (metrics["eval_accuracy"] >= target) control.ShouldTrainingStop = true;
        }
    }
}
