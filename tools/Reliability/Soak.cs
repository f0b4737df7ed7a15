using System.Collections;
using System.Diagnostics;
using System.Globalization;
using FineTuning.Data;
using FineTuning.Models.Bert;
using FineTuning.Training;
using static TorchSharp.torch;

namespace FineTuning.Reliability;

/// <summary>
/// The soak run: many Trainer steps of a bert-tiny-shaped classifier (2 layers, hidden 128, vocabulary 30522, batches
/// of 8 × 128 tokens) on random tokens, sampling resident memory and live tensors with <see cref="MemoryUsageCallback"/>.
/// Samples every 1% of the run, prints every 5%, and ends with a verdict: resident memory in the last quarter of the
/// run after warm-up (mean) must be within 5% of the first quarter's, and the live tensor count must not grow.
/// Exit code 1 otherwise.
/// </summary>
public static class Soak
{
    public static int Run(string[] args)
    {
        int steps = Option(args, "--steps", 10_000);
        int every = Option(args, "--every", Math.Max(1, steps / 100));
        int printEvery = Option(args, "--print-every", Math.Max(every, steps / 20 / every * every));
        int warmup = Option(args, "--warmup", steps / 10 / every * every);
        int saveSteps = Option(args, "--save-steps", 0);
        string shape = OptionText(args, "--shape", "bert-tiny")!;
        if (warmup % every != 0 || warmup <= 0 || warmup >= steps)
            throw new ArgumentException($"--warmup {warmup} must be a positive multiple of --every {every} below --steps {steps}");

        var config = shape switch
        {
            "bert-tiny" => new BertConfig { VocabSize = 30522, HiddenSize = 128, NumHiddenLayers = 2, NumAttentionHeads = 2, IntermediateSize = 512 },
            "tiny" => new BertConfig { VocabSize = 1000, HiddenSize = 32, NumHiddenLayers = 2, NumAttentionHeads = 2, IntermediateSize = 64, MaxPositionEmbeddings = 128 },
            _ => throw new ArgumentException($"--shape {shape}: expected bert-tiny or tiny"),
        };
        manual_seed(42);
        using var model = new BertForSequenceClassification(config.WithNumLabels(2));
        var output = Path.Combine(Path.GetTempPath(), $"finetuning-soak-{Guid.NewGuid():N}");
        var trainArgs = new TrainingArguments
        {
            OutputDir = output,
            UseCpu = true,
            PerDeviceTrainBatchSize = 8,
            MaxSteps = steps,
            LearningRate = 2e-5,
            WarmupRatio = 0.1,
            LoggingSteps = 500,
            SaveStrategy = saveSteps > 0 ? SaveStrategy.Steps : SaveStrategy.No,
            SaveSteps = Math.Max(1, saveSteps),
            SaveTotalLimit = 1,
            DisableTqdm = true,
        };
        var memory = new MemoryUsageCallback(every);
        var clock = Stopwatch.StartNew();
        var trainer = new Trainer(model, trainArgs, RandomTokens(800, 128, config.VocabSize, seed: 1),
            callbacks: [memory, new Printer(memory, clock, printEvery)]);
        Console.WriteLine($"soak: {steps} steps of {shape} (vocab {config.VocabSize}, hidden {config.HiddenSize}, {config.NumHiddenLayers} layers), "
            + $"batch 8 x 128, torch threads {get_num_threads()}, sample every {every} steps, warm-up {warmup} steps"
            + (saveSteps > 0 ? $", a checkpoint every {saveSteps} steps" : ""));
        Console.WriteLine($"{"step",7} {"seconds",9} {"resident MB",12} {"live tensors",13}");
        try
        {
            trainer.Train();
        }
        finally
        {
            try { Directory.Delete(output, recursive: true); } catch (IOException) { }
        }

        // Resident memory moves ±10% from step to step (malloc arenas, the GC): compare the mean of the first quarter
        // of the samples after warm-up with the mean of the last quarter, and report the extremes too.
        var after = memory.Samples.Where(s => s.Step >= warmup).ToList();
        int quarter = Math.Max(1, after.Count / 4);
        double first = after.Take(quarter).Average(s => (double)s.ResidentBytes);
        double last = after.TakeLast(quarter).Average(s => (double)s.ResidentBytes);
        double growth = (last - first) / first;
        long tensorGrowth = after[^1].LiveTensors - after[0].LiveTensors;
        bool ok = growth < 0.05 && tensorGrowth <= 0;
        const double MB = 1048576.0;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"soak {(ok ? "PASSED" : "FAILED")}: {steps} steps in {clock.Elapsed.TotalSeconds:F0} s ({clock.Elapsed.TotalMilliseconds / steps:F1} ms/step). "
            + $"Resident memory, mean of steps {after[0].Step}-{after[quarter - 1].Step}: {first / MB:F1} MB; of steps {after[^quarter].Step}-{after[^1].Step}: "
            + $"{last / MB:F1} MB ({growth * 100:+0.0;-0.0}%, limit +5%); range after warm-up {after.Min(s => s.ResidentBytes) / MB:F1}-{after.Max(s => s.ResidentBytes) / MB:F1} MB. "
            + $"Live tensors {after[0].LiveTensors} -> {after[^1].LiveTensors}."));
        return ok ? 0 : 1;
    }

    /// <summary>Rows of <paramref name="length"/> random token ids between [CLS] and [SEP], random 0/1 labels.</summary>
    static Dataset RandomTokens(int rows, int length, int vocab, int seed)
    {
        var random = new Random(seed);
        var ids = new List<int[]>();
        var labels = new List<int>();
        for (int i = 0; i < rows; i++)
        {
            var row = new int[length];
            row[0] = 1;
            for (int t = 1; t < length - 1; t++) row[t] = random.Next(3, vocab);
            row[^1] = 2;
            ids.Add(row);
            labels.Add(random.Next(2));
        }
        return Dataset.FromColumns(new Dictionary<string, IList> { ["input_ids"] = ids, ["label"] = labels });
    }

    sealed class Printer(MemoryUsageCallback memory, Stopwatch clock, int printEvery) : TrainerCallback
    {
        int seen;

        public override void OnStepEnd(TrainingArguments args, TrainerState state, TrainerControl control)
        {
            if (memory.Samples.Count == seen) return;
            var s = memory.Samples[seen++];
            if (s.Step % printEvery != 0) return;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{s.Step,7} {clock.Elapsed.TotalSeconds,9:F1} {s.ResidentBytes / 1048576.0,12:F1} {s.LiveTensors,13}"));
        }
    }

    static int Option(string[] args, string name, int fallback) =>
        OptionText(args, name, null) is { } text ? int.Parse(text, CultureInfo.InvariantCulture) : fallback;

    static string? OptionText(string[] args, string name, string? fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }
}
