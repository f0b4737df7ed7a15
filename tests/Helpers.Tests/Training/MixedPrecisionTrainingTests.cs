using System.Text.Json;
using FineTuning.Amp;
using FineTuning.Evaluation;
using FineTuning.Training;
using static TorchSharp.torch;

namespace FineTuning.Tests.Training;

/// <summary>Bf16 / Fp16 through the Trainer on CPU: autocast's policy, the GradScaler, checkpoints.</summary>
public class MixedPrecisionTrainingTests
{
    static IReadOnlyDictionary<string, double> Accuracy(EvalPrediction p) =>
        new Dictionary<string, double> { ["accuracy"] = Metrics.Accuracy(p.ArgMax(), p.Labels()) };

    static (Trainer Trainer, double Before, double After) TrainMarkerTask(TrainingArguments args, int epochs)
    {
        var model = TinyTraining.Model(seed: 1);
        var trainer = new Trainer(model, args with { NumTrainEpochs = epochs, LoggingSteps = 10, WarmupRatio = 0.1 },
                                  TinyTraining.MarkerTask(320, seed: 1), TinyTraining.MarkerTask(100, seed: 2), computeMetrics: Accuracy);
        var before = trainer.Evaluate()["eval_accuracy"];
        trainer.Train();
        return (trainer, before, trainer.Evaluate()["eval_accuracy"]);
    }

    [Fact]
    public void Bf16_Learns_The_Task_With_Fp32_Master_Weights_And_No_Scaler()
    {
        using var folder = new TempFolder();
        var (trainer, before, after) = TrainMarkerTask(TinyTraining.Args(folder.Path) with { Bf16 = true }, epochs: 12);
        using var model = trainer.Model;

        Assert.Equal(ScalarType.BFloat16, trainer.AmpDType);
        Assert.Null(trainer.Scaler);
        Assert.InRange(before, 0.3, 0.7);
        Assert.True(after >= 0.95, $"bf16 eval_accuracy {after} (before: {before})");
        var losses = TinyTraining.Losses(trainer.State);
        Assert.True(losses[^1] < 0.5 * losses[0], $"bf16 training loss {losses[0]} → {losses[^1]}");
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype)); // master weights stay fp32
        Assert.False(Autocast.IsEnabled);                                                // the region ended with the step
    }

    [Fact]
    public void Bf16_Follows_The_Fp32_Loss_Curve_Closely()
    {
        double[] Run(bool bf16)
        {
            using var folder = new TempFolder();
            using var model = TinyTraining.Model(seed: 2);
            var trainer = new Trainer(model, TinyTraining.Args(folder.Path) with { Bf16 = bf16, NumTrainEpochs = 2 },
                                      TinyTraining.MarkerTask(128, seed: 3));
            trainer.Train();
            return TinyTraining.Losses(trainer.State);
        }
        var fp32 = Run(false);
        var bf16 = Run(true);
        Assert.Equal(fp32.Length, bf16.Length);
        Assert.NotEqual(fp32, bf16); // it really ran in bf16
        for (int i = 0; i < fp32.Length; i++)
            Assert.True(Math.Abs(fp32[i] - bf16[i]) < 0.05 * fp32[i], $"step {i + 1}: bf16 loss {bf16[i]}, fp32 {fp32[i]}");
    }

    [Fact]
    public void Fp16_Learns_The_Task_With_Dynamic_Loss_Scaling()
    {
        using var folder = new TempFolder();
        var (trainer, before, after) = TrainMarkerTask(TinyTraining.Args(folder.Path) with { Fp16 = true }, epochs: 12);
        using var model = trainer.Model;

        Assert.Equal(ScalarType.Float16, trainer.AmpDType);
        Assert.NotNull(trainer.Scaler);
        Assert.True(after >= 0.95, $"fp16 eval_accuracy {after} (before: {before})");
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        // 240 clean steps at most since the start: the scale can only have stayed or backed off from 2^16.
        Assert.InRange(trainer.Scaler!.GetScale(), 1, 65536);
    }

    [Fact]
    public void Fp16_Skips_The_Optimizer_And_Schedule_Step_When_Gradients_Overflow()
    {
        using var folder = new TempFolder();
        using var model = TinyTraining.Model(seed: 4);
        var overflow = new OverflowAtStep2();
        var trainer = new Trainer(model, TinyTraining.Args(folder.Path) with { Fp16 = true, MaxSteps = 2 },
                                  TinyTraining.MarkerTask(48, seed: 4), callbacks: [overflow]);
        overflow.Trainer = trainer;
        trainer.Train();

        Assert.True(overflow.WeightsUnchangedByStep2, "the overflowing step changed the weights");
        Assert.Equal(OverflowAtStep2.HugeScale * 0.5, trainer.Scaler!.GetScale()); // backed off once
        Assert.Equal(1, trainer.LrScheduler!.CurrentStep);                         // the skipped step left the schedule
        Assert.Equal(2, trainer.State.GlobalStep);
        Assert.True(double.IsInfinity(trainer.State.LogHistory[1]["grad_norm"]) || double.IsNaN(trainer.State.LogHistory[1]["grad_norm"]));
    }

    [Fact]
    public void An_Fp16_Checkpoint_Holds_The_Scaler_And_Resuming_Is_Bit_Identical()
    {
        Dictionary<string, float[]> Straight()
        {
            using var folder = new TempFolder();
            using var model = TinyTraining.Model(seed: 5, dropout: 0.1);
            new Trainer(model, TinyTraining.Args(folder.Path) with { Fp16 = true, NumTrainEpochs = 2 }, TinyTraining.MarkerTask(64, seed: 6)).Train();
            return TinyTraining.Weights(model);
        }
        var expected = Straight();

        using var output = new TempFolder();
        using (var model = TinyTraining.Model(seed: 5, dropout: 0.1))
            new Trainer(model, TinyTraining.Args(output.Path) with { Fp16 = true, NumTrainEpochs = 2, SaveStrategy = SaveStrategy.Epoch },
                        TinyTraining.MarkerTask(64, seed: 6), callbacks: [new StopAfterEpoch(1)]).Train();
        var checkpoint = Path.Combine(output.Path, "checkpoint-4");
        using (var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(checkpoint, TrainerCheckpoint.ScalerName))))
        {
            Assert.Equal(65536.0, doc.RootElement.GetProperty("scale").GetDouble());
            Assert.Equal(4, doc.RootElement.GetProperty("_growth_tracker").GetInt32());
            Assert.Equal(2000, doc.RootElement.GetProperty("growth_interval").GetInt32());
        }
        using var resumedModel = TinyTraining.Model(seed: 99, dropout: 0.1); // other weights: the checkpoint must replace them
        var resumed = new Trainer(resumedModel, TinyTraining.Args(output.Path) with { Fp16 = true, NumTrainEpochs = 2 }, TinyTraining.MarkerTask(64, seed: 6));
        resumed.Train(resumeFromCheckpoint: checkpoint);

        Assert.Equal(8, resumed.Scaler!.StateDict().GrowthTracker); // continued from the saved count
        var actual = TinyTraining.Weights(resumedModel);
        foreach (var (name, values) in expected) Assert.True(values.SequenceEqual(actual[name]), $"{name} differs after resume");
    }

    [Fact]
    public void A_Bad_Scaler_File_Is_Reported_With_Its_Field()
    {
        using var folder = new TempFolder();
        File.WriteAllText(Path.Combine(folder.Path, TrainerCheckpoint.ScalerName), "{\"scale\": -1, \"_growth_tracker\": 0}");
        var e = Assert.Throws<CheckpointException>(() => TrainerCheckpoint.LoadScaler(new GradScaler(), folder.Path));
        Assert.Contains("scale", e.Message);
        Assert.Contains(TrainerCheckpoint.ScalerName, e.Message);
        // Values of the wrong JSON type, and a file that is not an object, are reported too (not an InvalidOperationException).
        foreach (var (json, field) in new[] { ("{\"scale\": \"x\", \"_growth_tracker\": 0}", "'scale'"),
                                             ("{\"scale\": 8, \"_growth_tracker\": \"3\"}", "'_growth_tracker'"),
                                             ("[1]", "JSON object") })
        {
            File.WriteAllText(Path.Combine(folder.Path, TrainerCheckpoint.ScalerName), json);
            Assert.Contains(field, Assert.Throws<CheckpointException>(() => TrainerCheckpoint.LoadScaler(new GradScaler(), folder.Path)).Message);
        }
        File.WriteAllText(Path.Combine(folder.Path, TrainerCheckpoint.SchedulerName), "{\"last_epoch\": \"3\"}");
        using var p = new TorchSharp.Modules.Parameter(zeros(1));
        var scheduler = new LrScheduler(TorchSharp.torch.optim.SGD([p], 0.1), _ => 1.0);
        Assert.Contains("'last_epoch'", Assert.Throws<CheckpointException>(() => TrainerCheckpoint.LoadScheduler(scheduler, folder.Path)).Message);
    }

    /// <summary>Before step 2, sets the loss scale so large that fp16 gradients overflow (what a too-large scale does in
    /// real fp16 training), and records whether that step moved the weights.</summary>
    sealed class OverflowAtStep2 : TrainerCallback
    {
        public const double HugeScale = 1e30; // finite in fp32 (the scaled loss), inf in fp16 (the gradients)
        Dictionary<string, float[]>? before;
        public Trainer? Trainer { get; set; }
        public bool WeightsUnchangedByStep2 { get; private set; }

        public override void OnStepBegin(TrainingArguments args, TrainerState state, TrainerControl control)
        {
            if (state.GlobalStep != 1) return;
            before = TinyTraining.Weights(Trainer!.Model);
            Trainer.Scaler!.LoadStateDict(Trainer.Scaler.StateDict() with { Scale = HugeScale });
        }

        public override void OnStepEnd(TrainingArguments args, TrainerState state, TrainerControl control)
        {
            if (state.GlobalStep != 2) return;
            var after = TinyTraining.Weights(Trainer!.Model);
            WeightsUnchangedByStep2 = before!.All(kv => kv.Value.SequenceEqual(after[kv.Key]));
        }
    }
}
