using System.Text.Json;
using FineTuning.Data;
using FineTuning.Evaluation;
using FineTuning.Models;
using FineTuning.Models.Bert;
using FineTuning.Tokenizers;
using FineTuning.Training;
using static TorchSharp.torch;
using DataLoader = FineTuning.Data.DataLoader;

namespace FineTuning.Tests.Training;

/// <summary>
/// The Trainer against Hugging Face's own numbers: the 20-step trajectory HF's Trainer recorded, HF's eval-mode loss on
/// MRPC dev rows 0–7, and the course's steps 4–6 end to end on the shared MRPC files with the fixture model.
/// </summary>
public class TrainerFixtureTests
{
    static string ModelFolder => SharedFixtures.Path("fixtures", "seqcls-model");

    static DatasetDict TokenizedMrpc(BertTokenizer tokenizer) =>
        Datasets.LoadDataset("glue", "mrpc", dataDir: SharedFixtures.Path("assets", "mrpc"))
            .Map(b => tokenizer.Call(b.Strings("sentence1"), b.Strings("sentence2"), truncation: true), batched: true);

    /// <summary>HF's fixture run used a sequential sampler (the recorded batches are rows 0–159 in order).</summary>
    sealed class SequentialTrainer(nn.Module model, TrainingArguments args, Dataset train, BertTokenizer tokenizer)
        : Trainer(model, args, train, processingClass: tokenizer)
    {
        protected override DataLoader GetTrainDataLoader(Dataset trainDataset) =>
            new(trainDataset, DataCollator, Args.PerDeviceTrainBatchSize, shuffle: false);
    }

    [FixtureFact]
    public void The_Trainer_Replays_HFs_Twenty_Steps_Loss_Learning_Rate_Grad_Norm_And_Final_Weights()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(SharedFixtures.Path("fixtures", "training_trajectory.json")));
        var hp = json.RootElement.GetProperty("hyperparameters");
        var run = json.RootElement.GetProperty("runs").GetProperty("adamw_torch");
        var steps = run.GetProperty("steps").EnumerateArray().ToList();

        var config = BertConfig.FromPretrained(ModelFolder) with { HiddenDropoutProb = 0, AttentionProbsDropoutProb = 0 };
        using var model = BertForSequenceClassification.FromPretrained(ModelFolder, config);
        var tokenizer = AutoTokenizer.FromPretrained(ModelFolder);
        var train = TokenizedMrpc(tokenizer)["train"].Select(Enumerable.Range(0, 160));
        using var output = new TempFolder();
        var args = new TrainingArguments
        {
            OutputDir = output.Path, UseCpu = true, SaveStrategy = SaveStrategy.No, LoggingSteps = 1, NumTrainEpochs = 1,
            PerDeviceTrainBatchSize = hp.GetProperty("batch_size").GetInt32(),
            LearningRate = hp.GetProperty("learning_rate").GetDouble(),
            WeightDecay = hp.GetProperty("weight_decay").GetDouble(),
            WarmupSteps = hp.GetProperty("warmup_steps").GetInt32(),
            MaxGradNorm = hp.GetProperty("max_grad_norm").GetDouble(),
        };
        var trainer = new SequentialTrainer(model, args, train, tokenizer);
        var result = trainer.Train();

        Assert.Equal(hp.GetProperty("total_steps").GetInt32(), result.GlobalStep);
        var logs = trainer.State.LogHistory.Where(e => e.ContainsKey("loss")).ToList();
        Assert.Equal(steps.Count, logs.Count);
        for (int i = 0; i < steps.Count; i++)
        {
            // HF's Trainer logs the loss rounded to 4 decimals and the learning rate after the scheduler step.
            Assert.Equal(Math.Round(steps[i].GetProperty("loss").GetDouble(), 4), logs[i]["loss"], 1e-4);
            Near(steps[i].GetProperty("lr_logged").GetDouble(), logs[i]["learning_rate"], 1e-9, $"step {i + 1} learning_rate");
            Near(steps[i].GetProperty("grad_norm_before_clip").GetDouble(), logs[i]["grad_norm"], 1e-4, $"step {i + 1} grad_norm");
            Assert.Equal((i + 1) / 20.0, logs[i]["epoch"], 12);
        }
        Near(steps.Average(s => s.GetProperty("loss").GetDouble()), result.TrainingLoss, 1e-4, "train_loss");

        var ours = model.state_dict();
        foreach (var p in run.GetProperty("final_parameters").GetProperty("param_summary").EnumerateObject())
        {
            if (!ours.TryGetValue(p.Name, out var t)) continue; // position_ids buffer
            using var l2 = t.to_type(ScalarType.Float64).norm();
            Near(p.Value.GetProperty("l2").GetDouble(), l2.item<double>(), 1e-4, $"{p.Name} L2 after 20 steps", atol: 1e-6);
        }
    }

    [FixtureFact]
    public void Evaluate_Gives_HFs_Eval_Loss_And_Predict_HFs_Logits_On_Dev_Rows_0_To_7()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(SharedFixtures.Path("fixtures", "forward_reference.json")));
        var reference = json.RootElement;
        using var model = AutoModelForSequenceClassification.FromPretrained(ModelFolder, numLabels: 2);
        var tokenizer = AutoTokenizer.FromPretrained(ModelFolder);
        var dev = TokenizedMrpc(tokenizer)["validation"].Select(Enumerable.Range(0, 8));
        using var output = new TempFolder();
        var trainer = new Trainer(model, new TrainingArguments { OutputDir = output.Path, UseCpu = true }, evalDataset: dev,
                                  processingClass: tokenizer, computeMetrics: GlueMetric.For("mrpc"));

        var metrics = trainer.Evaluate();
        Near(reference.GetProperty("loss").GetDouble(), metrics["eval_loss"], 1e-5, "eval_loss");

        var prediction = trainer.Predict(dev);
        TensorAssert.Close(TensorAssert.Floats(reference.GetProperty("logits")), prediction.Predictions.Cast<float>().ToArray(), "logits");
        Assert.Equal(TensorAssert.Longs(reference.GetProperty("predictions")).Select(p => (int)p), prediction.ArgMax());
        Assert.Equal(metrics["eval_accuracy"], prediction.Metrics["test_accuracy"]);
    }

    [FixtureFact]
    public void The_Course_Steps_4_To_6_Run_End_To_End_On_MRPC_With_The_Fixture_Model()
    {
        using var model = AutoModelForSequenceClassification.FromPretrained(ModelFolder, numLabels: 2);
        var tokenizer = AutoTokenizer.FromPretrained(ModelFolder);
        var tokenized = TokenizedMrpc(tokenizer); // sentence1, sentence2, idx stay: the Trainer drops them, as HF's does
        using var output = new TempFolder();
        var args = new TrainingArguments
        {
            OutputDir = output.Path, UseCpu = true, MaxSteps = 4, EvalStrategy = IntervalStrategy.Steps, EvalSteps = 2,
            SaveStrategy = SaveStrategy.Steps, SaveSteps = 2, LoggingSteps = 2,
        };
        var trainer = new Trainer(model, args, tokenized["train"].Select(Enumerable.Range(0, 64)),
                                  tokenized["validation"].Select(Enumerable.Range(0, 48)),
                                  processingClass: tokenizer, computeMetrics: GlueMetric.For("mrpc"));

        var result = trainer.Train();
        var metrics = trainer.Evaluate();

        Assert.Equal(4, result.GlobalStep);
        foreach (var key in new[] { "eval_loss", "eval_accuracy", "eval_f1", "eval_runtime", "eval_samples_per_second", "eval_steps_per_second", "epoch" })
            Assert.True(metrics.ContainsKey(key), $"Evaluate() lacks {key}");
        Assert.InRange(metrics["eval_accuracy"], 0, 1);
        Assert.InRange(metrics["eval_f1"], 0, 1);
        var prediction = trainer.Predict(tokenized["validation"].Select(Enumerable.Range(0, 48)));
        var labels = prediction.LabelIds!.Select(l => (int)l).ToArray();
        Assert.Equal(Metrics.Accuracy(prediction.ArgMax(), labels), metrics["eval_accuracy"], 12);
        Assert.Equal(Metrics.F1(prediction.ArgMax(), labels), metrics["eval_f1"], 12);
        // Evaluated at steps 2 and 4 during training, then once more by the call above.
        Assert.Equal([2.0, 4, 4], trainer.State.LogHistory.Where(e => e.ContainsKey("eval_f1")).Select(e => e["step"]));

        // Every checkpoint is a model folder the library (and Python transformers) loads, tokenizer included.
        var checkpoint = Path.Combine(output.Path, "checkpoint-4");
        using var reloaded = AutoModelForSequenceClassification.FromPretrained(checkpoint);
        var reloadedTokenizer = AutoTokenizer.FromPretrained(checkpoint);
        Assert.Equal(tokenizer.Encode("the cat sat, 42 $").InputIds, reloadedTokenizer.Encode("the cat sat, 42 $").InputIds);
    }

    static void Near(double expected, double actual, double rtol, string what, double atol = 1e-12) =>
        Assert.True(Math.Abs(actual - expected) <= rtol * Math.Abs(expected) + atol, $"{what}: {actual:R}, HF {expected:R}");
}
