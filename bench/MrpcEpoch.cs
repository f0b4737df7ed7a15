using System.Text.Json;
using FineTuning.Data;
using FineTuning.Models.Bert;
using FineTuning.Training;
using static TorchSharp.torch;

namespace FineTuning.Benchmarks;

/// <summary>
/// Part c: one epoch of MRPC train through our <see cref="Trainer"/> (bert-tiny shape, batch 8, HF's defaults, no
/// evaluation or checkpoints inside the epoch), for three ways of padding, with the tokens each processes.
/// </summary>
public sealed record EpochVariant(string Name, Figure Seconds, Figure ExamplesPerSecond, long RealTokens, long ProcessedTokens, int Steps)
{
    public double RealShare => (double)RealTokens / ProcessedTokens;
}

/// <summary>The Hugging Face Trainer's figures from ../shared/bench/hf_trainer_baseline.json.</summary>
public sealed record HfBaseline(string Run, double EpochSeconds, double TrainRuntime, double EvalSeconds, int Epochs, double SamplesPerSecond, string Machine, string Stack)
{
    /// <summary>
    /// HF's run "default_lr5e-5_bs8_ep3" (batch 8, dynamic padding, random order): its train_runtime includes an
    /// evaluation per epoch (subtracted here, with their own eval_runtime) and two checkpoint saves (left in: small for
    /// a bert-tiny model).
    /// </summary>
    public static HfBaseline? Load(string shared)
    {
        var path = Path.Combine(shared, "bench", "hf_trainer_baseline.json");
        if (!File.Exists(path)) return null;
        using var json = JsonDocument.Parse(File.ReadAllText(path));
        const string name = "default_lr5e-5_bs8_ep3";
        var run = json.RootElement.GetProperty("runs").GetProperty(name);
        var metrics = run.GetProperty("train_metrics");
        double runtime = metrics.GetProperty("train_runtime").GetDouble();
        int epochs = (int)Math.Round(metrics.GetProperty("epoch").GetDouble());
        double eval = run.GetProperty("eval_per_epoch").EnumerateArray().Sum(e => e.GetProperty("eval_runtime_s").GetDouble());
        var notes = json.RootElement.GetProperty("notes");
        return new HfBaseline(name, (runtime - eval) / epochs, runtime, eval, epochs,
            run.GetProperty("train_examples").GetInt32() / ((runtime - eval) / epochs),
            notes.GetProperty("machine").GetString() ?? "", notes.GetProperty("stack").GetString() ?? "");
    }
}

public sealed record EpochResult(int Examples, double MeanTokens, int MaxTokens, IReadOnlyList<EpochVariant> Variants, HfBaseline? Hf)
{
    public static EpochResult Measure(Options o, Mrpc mrpc)
    {
        var train = o.Quick ? mrpc.Train.Select(Enumerable.Range(0, 400)) : mrpc.Train;
        var lengths = o.Quick ? mrpc.Lengths[..400] : mrpc.Lengths;
        var variants = new (string Name, bool GroupByLength, DataCollatorWithPadding Collator)[]
        {
            ("max_length 128", false, new DataCollatorWithPadding(mrpc.Tokenizer, PaddingStrategy.MaxLength, maxLength: 128)),
            ("dynamic", false, new DataCollatorWithPadding(mrpc.Tokenizer)),
            ("dynamic + GroupByLength", true, new DataCollatorWithPadding(mrpc.Tokenizer)),
        };
        var seconds = variants.Select(_ => new List<double>()).ToArray();
        int[] steps = new int[variants.Length];
        for (int run = 0; run < o.EpochRuns; run++)
            for (int v = 0; v < variants.Length; v++)
            {
                var (name, group, collator) = variants[(v + run) % variants.Length]; // rotate the order between runs
                int index = (v + run) % variants.Length;
                var output = Path.Combine(Path.GetTempPath(), $"finetuning-bench-epoch-{Environment.ProcessId}");
                manual_seed(42);
                using var model = new BertForSequenceClassification(BertShape.Tiny.Config());
                var args = new TrainingArguments
                {
                    OutputDir = output, NumTrainEpochs = 1, PerDeviceTrainBatchSize = 8, GroupByLength = group,
                    EvalStrategy = IntervalStrategy.No, SaveStrategy = SaveStrategy.No, DisableTqdm = true, Seed = 42,
                };
                var trainer = new Trainer(model, args, train, dataCollator: collator, processingClass: mrpc.Tokenizer);
                var result = trainer.Train();
                seconds[index].Add(result.Metrics["train_runtime"]);
                steps[index] = result.GlobalStep;
                Console.WriteLine($"    {name}: {seconds[index][^1]:F1} s ({result.GlobalStep} steps, loss {result.TrainingLoss:F4})");
                if (Directory.Exists(output)) Directory.Delete(output, recursive: true);
            }
        var list = new List<EpochVariant>();
        for (int v = 0; v < variants.Length; v++)
        {
            // The tokens the model processes in that epoch: the same batches the Trainer drew (seed 42, epoch 0).
            var loader = new Data.DataLoader(train, variants[v].Collator, 8, shuffle: true, seed: 42, groupByLength: variants[v].GroupByLength);
            var stats = PaddingStats.Compute(lengths, loader.BatchIndices(0), 128);
            long processed = variants[v].Collator.Padding == PaddingStrategy.MaxLength ? stats.MaxLengthTokens : stats.DynamicTokens;
            list.Add(new EpochVariant(variants[v].Name, Figure.Of(seconds[v]), Figure.Of(seconds[v].Select(s => train.Count / s)),
                stats.RealTokens, processed, steps[v]));
        }
        return new EpochResult(train.Count, lengths.Average(), lengths.Max(), list, HfBaseline.Load(o.Shared));
    }
}
