using System.Text.Json;
using FineTuning.Training;
using TorchSharp;

namespace FineTuning.Tests.Training;

public class LrSchedulesTests
{
    static double[] Values(Func<int, double> f, int steps) => Enumerable.Range(0, steps).Select(f).ToArray();

    static void Near(double[] expected, double[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) < 1e-12, $"step {i}: expected {expected[i]}, got {actual[i]}");
    }

    [Fact]
    public void Linear_warms_up_then_decays_to_zero()
    {
        // W = 2, T = 10: 0, 1/2, then (10 - s) / 8.
        Near([0, 0.5, 1, 7 / 8.0, 6 / 8.0, 5 / 8.0, 4 / 8.0, 3 / 8.0, 2 / 8.0, 1 / 8.0, 0, 0], Values(LrSchedules.Linear(2, 10), 12));
        Near([1, 0.75, 0.5, 0.25, 0], Values(LrSchedules.Linear(0, 4), 5));
    }

    [Fact]
    public void Cosine_is_half_a_cosine_after_warmup()
    {
        // W = 1, T = 5: progress p = (s - 1) / 4; 0.5 (1 + cos(pi p)).
        Near([0, 1, 0.5 * (1 + Math.Sqrt(0.5)), 0.5, 0.5 * (1 - Math.Sqrt(0.5)), 0, 0.5 * (1 - Math.Sqrt(0.5))],
            Values(LrSchedules.Get(SchedulerType.Cosine, 1, 5), 7));
        // num_cycles 1: a full cosine, back up to 1 at the end.
        Near([1, 0, 1], [LrSchedules.Cosine(0, 4, 1)(0), LrSchedules.Cosine(0, 4, 1)(2), LrSchedules.Cosine(0, 4, 1)(4)]);
    }

    [Fact]
    public void Cosine_with_restarts_restarts_each_cycle()
    {
        // W = 0, T = 8, 2 cycles: p = s / 8, 0.5 (1 + cos(pi ((2p) mod 1))); 0 once p >= 1.
        var f = LrSchedules.Get(SchedulerType.CosineWithRestarts, 0, 8,
            new Dictionary<string, double> { ["num_cycles"] = 2 });
        Near([1, 0.5 * (1 + Math.Sqrt(0.5)), 0.5, 0.5 * (1 - Math.Sqrt(0.5)), 1, 0.5 * (1 + Math.Sqrt(0.5)), 0.5, 0.5 * (1 - Math.Sqrt(0.5)), 0, 0],
            Values(f, 10));
        // Default 1 cycle equals cosine with num_cycles 0.5 before the end.
        Near(Values(LrSchedules.Cosine(2, 10), 10), Values(LrSchedules.Get(SchedulerType.CosineWithRestarts, 2, 10), 10));
    }

    [Fact]
    public void Polynomial_decays_to_lr_end_relative_to_the_initial_lr()
    {
        // lr 1e-3, lr_end 1e-7, power 1, W = 2, T = 6.
        var f = LrSchedules.Get(SchedulerType.Polynomial, 2, 6, initialLr: 1e-3);
        double At(int s) => ((1e-3 - 1e-7) * (1 - (s - 2) / 4.0) + 1e-7) / 1e-3;
        Near([0, 0.5, At(2), At(3), At(4), At(5), 1e-4, 1e-4], Values(f, 8));
        Assert.Equal(1.0, At(2), 12);
        // power 2.
        var g = LrSchedules.Polynomial(0, 4, 1.0, lrEnd: 0.0, power: 2);
        Near([1, 0.5625, 0.25, 0.0625, 0], Values(g, 5));
        var e = Assert.Throws<ArgumentException>(() => LrSchedules.Polynomial(0, 4, 1e-7, lrEnd: 1e-7));
        Assert.Contains("lr_end (1e-07) must be smaller than initial lr (1e-07)", e.Message);
        Assert.Throws<ArgumentException>(() => LrSchedules.Get(SchedulerType.Polynomial, 0, 4));
    }

    [Fact]
    public void Constant_schedules()
    {
        Near([1, 1, 1], Values(LrSchedules.Get(SchedulerType.Constant, 5, 10), 3));
        Near([0, 1 / 3.0, 2 / 3.0, 1, 1, 1], Values(LrSchedules.Get(SchedulerType.ConstantWithWarmup, 3, 10), 6));
    }

    [Fact]
    public void Inverse_sqrt_uses_the_warmup_as_timescale()
    {
        // W = 4: timescale 4, shift 0: 1 / sqrt(s / 4) after warmup.
        Near([0, 0.25, 0.5, 0.75, 1, 1 / Math.Sqrt(5 / 4.0), 0.5], [.. Values(LrSchedules.Get(SchedulerType.InverseSqrt, 4, 100), 6), LrSchedules.InverseSqrt(4)(16)]);
        // W = 0: timescale 10 000, shift 10 000.
        Near([1, 1 / Math.Sqrt(2)], [LrSchedules.InverseSqrt(0)(0), LrSchedules.InverseSqrt(0)(10_000)]);
    }

    [Fact]
    public void Bad_arguments_are_errors()
    {
        Assert.Throws<NotSupportedException>(() => LrSchedules.Get(SchedulerType.ReduceLrOnPlateau, 0, 10));
        var e = Assert.Throws<ArgumentException>(() => LrSchedules.Get(SchedulerType.Linear, 0, 10,
            new Dictionary<string, double> { ["num_cycles"] = 2 }));
        Assert.Contains("num_cycles", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => LrSchedules.Get(SchedulerType.Linear, -1, 10));
    }

    [FixtureFact("fixtures", "training_trajectory.json")]
    public void Linear_warmup_matches_hf_trajectory()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(SharedFixtures.Path("fixtures", "training_trajectory.json")));
        var hp = json.RootElement.GetProperty("hyperparameters");
        var lr = hp.GetProperty("learning_rate").GetDouble();
        var warmup = hp.GetProperty("warmup_steps").GetInt32();
        var total = hp.GetProperty("total_steps").GetInt32();
        Assert.Equal("linear", hp.GetProperty("lr_scheduler").GetString());
        var steps = json.RootElement.GetProperty("runs").GetProperty("adamw_torch").GetProperty("steps").EnumerateArray().ToList();
        Assert.Equal(20, steps.Count);

        var args = new TrainingArguments { OutputDir = "out", LearningRate = lr, WarmupSteps = warmup, MaxSteps = total };
        using var p = torch.nn.Parameter(torch.zeros(2));
        using var optimizer = torch.optim.AdamW([p], lr);
        var scheduler = LrScheduler.Create(optimizer, args, total);
        foreach (var step in steps)
        {
            var n = step.GetProperty("step").GetInt32();
            // The optimizer step runs with the current lr, then the scheduler steps, then the Trainer logs.
            AssertRel(step.GetProperty("lr_applied").GetDouble(), optimizer.ParamGroups.First().LearningRate, n);
            scheduler.Step();
            AssertRel(step.GetProperty("lr_logged").GetDouble(), scheduler.LastLr[0], n);
        }
    }

    static void AssertRel(double expected, double actual, int step) =>
        Assert.True(Math.Abs(expected - actual) <= 1e-12 * Math.Max(1e-30, Math.Abs(expected)) || expected == actual,
            $"step {step}: expected {expected:R}, got {actual:R}");
}
