using System.Text.Json;
using FineTuning.Evaluation;
using FineTuning.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Tests.Training;

/// <summary>reduce_lr_on_plateau: torch's ReduceLROnPlateau, stepped by the Trainer after each evaluation.</summary>
public class ReduceLrOnPlateauTests
{
    static (TorchSharp.torch.optim.Optimizer Optimizer, Parameter Weight) Optimizer(double lr = 1.0)
    {
        var w = new Parameter(zeros(2));
        return (optim.SGD([w], lr), w);
    }

    static double Lr(LrScheduler s) => s.LastLr[0];

    [Fact]
    public void Lowers_The_Rate_By_Factor_After_More_Than_Patience_Evaluations_Without_Improvement()
    {
        var (optimizer, _) = Optimizer();
        var s = LrScheduler.ReduceLrOnPlateau(optimizer, "min", new Dictionary<string, double> { ["patience"] = 2 });
        Assert.True(s.IsMetricDriven);
        Assert.Equal(1.0, Lr(s));
        Assert.False(s.StepOnMetric(1.0));   // best 1.0
        Assert.False(s.StepOnMetric(0.9));   // best 0.9
        Assert.False(s.StepOnMetric(0.95));  // 1 bad
        Assert.False(s.StepOnMetric(0.89995)); // not better by more than 1e-4 relative: 2 bad
        Assert.True(s.StepOnMetric(0.95));   // 3 bad > patience 2: × 0.1
        Assert.Equal(0.1, Lr(s), 12);
        Assert.Equal(0.1, optimizer.ParamGroups.First().LearningRate, 12);
        Assert.Equal(5, s.CurrentStep);
    }

    [Fact]
    public void Max_Mode_Cooldown_Min_Lr_And_Eps_Follow_Torch()
    {
        var (optimizer, _) = Optimizer();
        var s = LrScheduler.ReduceLrOnPlateau(optimizer, "max", new Dictionary<string, double>
        {
            ["patience"] = 0, ["factor"] = 0.5, ["cooldown"] = 1, ["min_lr"] = 0.3,
        });
        Assert.False(s.StepOnMetric(0.5));  // accuracy up from -inf: better
        Assert.True(s.StepOnMetric(0.4));   // worse, 1 bad > 0: 0.5, cooldown 1
        Assert.Equal(0.5, Lr(s), 12);
        Assert.False(s.StepOnMetric(0.4));  // in cooldown: the bad count is reset
        Assert.True(s.StepOnMetric(0.4));   // 0.25 → clamped to min_lr 0.3
        Assert.Equal(0.3, Lr(s), 12);
        Assert.False(s.StepOnMetric(0.4));  // cooldown
        Assert.True(s.StepOnMetric(0.4));   // already at min_lr: the change is below eps, the rate stays
        Assert.Equal(0.3, Lr(s), 12);
    }

    [Fact]
    public void Misuse_And_Bad_Kwargs_Are_Clear_Errors()
    {
        var (optimizer, _) = Optimizer();
        var plateau = LrScheduler.ReduceLrOnPlateau(optimizer);
        Assert.Contains("StepOnMetric", Assert.Throws<InvalidOperationException>(() => plateau.Step()).Message);
        var linear = new LrScheduler(optimizer, _ => 1.0);
        Assert.Throws<InvalidOperationException>(() => linear.StepOnMetric(1.0));
        Assert.Contains("num_cycles", Assert.Throws<ArgumentException>(() =>
            LrScheduler.ReduceLrOnPlateau(optimizer, kwargs: new Dictionary<string, double> { ["num_cycles"] = 1 })).Message);
        Assert.Contains("factor", Assert.Throws<ArgumentException>(() =>
            LrScheduler.ReduceLrOnPlateau(optimizer, kwargs: new Dictionary<string, double> { ["factor"] = 1.5 })).Message);
        Assert.Throws<ArgumentException>(() => LrScheduler.ReduceLrOnPlateau(optimizer, "up"));
    }

    [Fact]
    public void State_Round_Trips_Through_A_Checkpoint_File()
    {
        using var folder = new TempFolder();
        var (optimizer, _) = Optimizer();
        var s = LrScheduler.ReduceLrOnPlateau(optimizer, kwargs: new Dictionary<string, double> { ["patience"] = 1, ["cooldown"] = 3 });
        s.StepOnMetric(2.0);
        s.StepOnMetric(3.0);
        s.StepOnMetric(3.0); // reduced, cooldown 3
        s.StepOnMetric(3.0);
        TrainerCheckpoint.SaveScheduler(s, folder.Path);

        var (other, _) = Optimizer();
        var restored = LrScheduler.ReduceLrOnPlateau(other, kwargs: new Dictionary<string, double> { ["patience"] = 1, ["cooldown"] = 3 });
        TrainerCheckpoint.LoadScheduler(restored, folder.Path);
        Assert.Equal(s.StateDict().Best, restored.StateDict().Best);
        Assert.Equal(s.StateDict().CooldownCounter, restored.StateDict().CooldownCounter);
        Assert.Equal(s.StateDict().NumBadEpochs, restored.StateDict().NumBadEpochs);
        Assert.Equal(s.LastLr, restored.LastLr);
        Assert.Equal(s.LastLr[0], other.ParamGroups.First().LearningRate);
        Assert.Equal(4, restored.CurrentStep);

        // Before any metric, best is ±inf: written as null (JSON has no inf) and read back as the initial value.
        var fresh = LrScheduler.ReduceLrOnPlateau(Optimizer().Optimizer);
        TrainerCheckpoint.SaveScheduler(fresh, folder.Path);
        using (var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.Path, TrainerCheckpoint.SchedulerName))))
            Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("best").ValueKind);
        var again = LrScheduler.ReduceLrOnPlateau(Optimizer().Optimizer);
        TrainerCheckpoint.LoadScheduler(again, folder.Path);
        Assert.Equal(double.PositiveInfinity, again.StateDict().Best);

        File.WriteAllText(Path.Combine(folder.Path, TrainerCheckpoint.SchedulerName), "{\"last_epoch\": 1, \"_last_lr\": [0.1], \"best\": \"x\"}");
        var e = Assert.Throws<CheckpointException>(() => TrainerCheckpoint.LoadScheduler(again, folder.Path));
        Assert.Contains("'best'", e.Message);
    }

    [Fact]
    public void The_Trainer_Steps_It_After_Each_Evaluation_With_The_Metric_For_Best_Model()
    {
        using var folder = new TempFolder();
        using var model = TinyTraining.Model(seed: 1);
        var flat = new Dictionary<string, double> { ["score"] = 0.5 }; // never improves after the first evaluation
        var args = TinyTraining.Args(folder.Path) with
        {
            MaxSteps = 6, EvalStrategy = IntervalStrategy.Steps, EvalSteps = 2, LoggingSteps = 1, MetricForBestModel = "score",
            LrSchedulerType = SchedulerType.ReduceLrOnPlateau, LrSchedulerKwargs = new Dictionary<string, double> { ["patience"] = 0 },
        };
        Assert.True(args.EffectiveGreaterIsBetter); // "score": mode max
        var trainer = new Trainer(model, args, TinyTraining.MarkerTask(96, seed: 1), TinyTraining.MarkerTask(32, seed: 2),
                                  computeMetrics: _ => flat);
        trainer.Train();

        var lrs = trainer.State.LogHistory.Where(e => e.ContainsKey("learning_rate")).Select(e => e["learning_rate"]).ToArray();
        // Steps 1-4 at 1e-3 (evaluations at 2: best; at 4: no improvement → × 0.1 after step 4's log); 5-6 at 1e-4.
        Assert.Equal(6, lrs.Length);
        Assert.All(lrs[..4], lr => Assert.Equal(1e-3, lr, 12));
        Assert.All(lrs[4..], lr => Assert.Equal(1e-4, lr, 12));
        Assert.Equal(3, trainer.LrScheduler!.CurrentStep); // one step per evaluation, none per optimizer step
    }

    [Fact]
    public void Without_A_Metric_It_Follows_The_Eval_Loss_As_HF_Does()
    {
        var args = new TrainingArguments { OutputDir = "x", LrSchedulerType = SchedulerType.ReduceLrOnPlateau, EvalStrategy = IntervalStrategy.Epoch };
        Assert.Equal("loss", args.EffectiveMetricForBestModel);
        Assert.False(args.EffectiveGreaterIsBetter);
    }
}
