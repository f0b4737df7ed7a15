using System.Diagnostics;
using System.Text.Json;
using FineTuning.Models.Bert;
using FineTuning.Training;
using static TorchSharp.torch;

namespace FineTuning.Benchmarks;

/// <summary>
/// Part e: resident memory and live tensors every 100 steps over a long bert-tiny Trainer run on MRPC (dynamic
/// padding), in a fresh process, so what earlier parts allocated does not hide or add growth.
/// </summary>
public sealed record MemoryResult(int Steps, IReadOnlyList<MemorySample> Samples, double GrowthPercent, double Seconds, string? Error)
{
    /// <summary>Runs this benchmark again as a child process with <c>--child memory</c> and reads its JSON.</summary>
    public static MemoryResult MeasureInChild(Options o)
    {
        var file = Path.Combine(Path.GetTempPath(), $"finetuning-bench-memory-{Environment.ProcessId}.json");
        var psi = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false };
        // `dotnet FineTuning.Benchmarks.dll` (no apphost) needs the dll as the first argument.
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
            psi.ArgumentList.Add(typeof(MemoryResult).Assembly.Location);
        foreach (var a in new[] { "--child", "memory", "--child-out", file, "--shared", o.Shared, "--threads", $"{o.Threads}" })
            psi.ArgumentList.Add(a);
        if (o.Quick) psi.ArgumentList.Add("--quick");
        psi.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
        using var p = Process.Start(psi)!;
        p.WaitForExit();
        if (p.ExitCode != 0 || !File.Exists(file))
            return new MemoryResult(0, [], double.NaN, 0, $"the memory child process failed (exit {p.ExitCode})");
        var result = JsonSerializer.Deserialize<MemoryResult>(File.ReadAllText(file))!;
        File.Delete(file);
        return result;
    }

    /// <summary>The child's work: <see cref="Options.MemorySteps"/> optimizer steps with a <see cref="MemoryUsageCallback"/>.</summary>
    public static MemoryResult Measure(Options o, Mrpc mrpc)
    {
        var output = Path.Combine(Path.GetTempPath(), $"finetuning-bench-memory-{Environment.ProcessId}");
        manual_seed(42);
        using var model = new BertForSequenceClassification(BertShape.Tiny.Config());
        var memory = new MemoryUsageCallback(100);
        var args = new TrainingArguments
        {
            OutputDir = output, MaxSteps = o.MemorySteps, PerDeviceTrainBatchSize = 8, EvalStrategy = IntervalStrategy.No,
            SaveStrategy = SaveStrategy.No, DisableTqdm = true, LoggingSteps = 100, Seed = 42,
        };
        var trainer = new Trainer(model, args, mrpc.Train, processingClass: mrpc.Tokenizer, callbacks: [memory]);
        var clock = Stopwatch.StartNew();
        trainer.Train();
        double seconds = clock.Elapsed.TotalSeconds;
        if (Directory.Exists(output)) Directory.Delete(output, recursive: true);
        return new MemoryResult(o.MemorySteps, memory.Samples, 100 * memory.ResidentGrowth(100), seconds, null);
    }
}
