using FineTuning.Training;

namespace FineTuning.Tests.Training;

public class EarlyStoppingCallbackTests
{
    static TrainingArguments Args(string? metric = "accuracy", bool? greaterIsBetter = null) => new()
    {
        OutputDir = "out",
        EvalStrategy = IntervalStrategy.Epoch,
        SaveStrategy = SaveStrategy.Epoch,
        LoadBestModelAtEnd = true,
        MetricForBestModel = metric,
        GreaterIsBetter = greaterIsBetter,
    };

    /// <summary>Drives the callback as the Trainer does: evaluate → OnEvaluate (which sees the best value of the
    /// earlier evaluations) → save, where the Trainer moves BestMetric on a strict improvement (no threshold).</summary>
    sealed class Run
    {
        public readonly TrainingArguments Args;
        public readonly EarlyStoppingCallback Callback;
        public readonly TrainerState State = new() { MaxSteps = 100 };
        public readonly TrainerControl Control = new();
        readonly string metricKey;

        public Run(TrainingArguments args, EarlyStoppingCallback callback)
        {
            Args = args;
            Callback = callback;
            var m = args.EffectiveMetricForBestModel!;
            metricKey = m.StartsWith("eval_", StringComparison.Ordinal) ? m : "eval_" + m;
            Callback.OnTrainBegin(Args, State, Control);
        }

        /// <summary>One evaluation; returns whether training should stop after it.</summary>
        public bool Evaluate(double value) => Evaluate(new Dictionary<string, double>
        {
            [metricKey] = value,
            ["eval_runtime"] = 1.5,
            ["epoch"] = State.GlobalStep / 10.0,
        });

        public bool Evaluate(Dictionary<string, double> metrics)
        {
            State.GlobalStep += 10;
            Callback.OnEvaluate(Args, State, Control, metrics);
            if (metrics.TryGetValue(metricKey, out var v) && (State.BestMetric is not { } best
                    || (Args.EffectiveGreaterIsBetter == true ? v > best : v < best)))
            {
                State.BestMetric = v;
                State.BestGlobalStep = State.GlobalStep;
            }
            return Control.ShouldTrainingStop;
        }
    }

    /// <summary>Evaluates each value in turn until training stops; returns the counter after each evaluation and the
    /// 1-based evaluation that stopped it (0: none).</summary>
    static (int[] Counters, int StoppedAt) Sequence(Run run, params double[] values)
    {
        var counters = new List<int>();
        for (var i = 0; i < values.Length; i++)
        {
            var stop = run.Evaluate(values[i]);
            counters.Add(run.Callback.EarlyStoppingPatienceCounter);
            if (stop) return (counters.ToArray(), i + 1);
        }
        return (counters.ToArray(), 0);
    }

    [Fact]
    public void Defaults_are_hugging_faces()
    {
        var cb = new EarlyStoppingCallback();
        Assert.Equal(1, cb.EarlyStoppingPatience);
        Assert.Equal(0.0, cb.EarlyStoppingThreshold);
        Assert.Equal(0, cb.EarlyStoppingPatienceCounter);
    }

    [Fact]
    public void Greater_is_better_with_patience_two_stops_on_the_second_evaluation_in_a_row_without_improvement()
    {
        var run = new Run(Args("accuracy"), new EarlyStoppingCallback(earlyStoppingPatience: 2));
        // 0.75 improves, 0.74 does not (1), 0.80 improves (reset), 0.79 (1), 0.78 (2) → stop.
        var (counters, stoppedAt) = Sequence(run, 0.70, 0.75, 0.74, 0.80, 0.79, 0.78, 0.90);
        Assert.Equal([0, 0, 1, 0, 1, 2], counters);
        Assert.Equal(6, stoppedAt);
        Assert.Equal(0.80, run.State.BestMetric);
    }

    [Fact]
    public void Loss_is_lower_is_better_by_default()
    {
        // MetricForBestModel null with LoadBestModelAtEnd means "loss" and greater_is_better false (HF __post_init__).
        var run = new Run(Args(metric: null), new EarlyStoppingCallback(2));
        var (counters, stoppedAt) = Sequence(run, 0.60, 0.55, 0.56, 0.50, 0.51, 0.57);
        Assert.Equal([0, 0, 1, 0, 1, 2], counters);
        Assert.Equal(6, stoppedAt);
    }

    [Fact]
    public void Explicit_eval_prefix_and_greater_is_better_false_are_honoured()
    {
        var run = new Run(Args(metric: "eval_f1", greaterIsBetter: false), new EarlyStoppingCallback(1));
        var (counters, stoppedAt) = Sequence(run, 0.9, 0.8, 0.85);
        Assert.Equal([0, 0, 1], counters);
        Assert.Equal(3, stoppedAt);
    }

    [Fact]
    public void Equal_value_is_no_improvement_and_default_patience_stops_at_once()
    {
        var run = new Run(Args(), new EarlyStoppingCallback());
        Assert.False(run.Evaluate(0.8));
        Assert.True(run.Evaluate(0.8));
        Assert.Equal(1, run.Callback.EarlyStoppingPatienceCounter);
    }

    [Fact]
    public void Improvement_must_exceed_the_threshold()
    {
        var run = new Run(Args(), new EarlyStoppingCallback(2, earlyStoppingThreshold: 0.25));
        Assert.False(run.Evaluate(0.25));
        // Exactly the threshold better (0.5 - 0.25 = 0.25, not > 0.25): no improvement, though the Trainer's best moves.
        Assert.False(run.Evaluate(0.5));
        Assert.Equal(1, run.Callback.EarlyStoppingPatienceCounter);
        Assert.Equal(0.5, run.State.BestMetric);
        // 0.875 beats 0.5 by 0.375: an improvement, the counter resets.
        Assert.False(run.Evaluate(0.875));
        Assert.Equal(0, run.Callback.EarlyStoppingPatienceCounter);
    }

    [Fact]
    public void Steady_gains_below_the_threshold_stop_training_as_in_hf()
    {
        // Each evaluation beats the previous best by 0.005 < 0.01: the Trainer's BestMetric follows, the counter grows.
        var run = new Run(Args(), new EarlyStoppingCallback(2, 0.01));
        var (counters, stoppedAt) = Sequence(run, 0.800, 0.805, 0.810, 0.815);
        Assert.Equal([0, 1, 2], counters);
        Assert.Equal(3, stoppedAt);
    }

    [Fact]
    public void Nan_metric_counts_as_no_improvement()
    {
        var run = new Run(Args(metric: "loss"), new EarlyStoppingCallback(2));
        var (counters, _) = Sequence(run, 0.5, double.NaN);
        Assert.Equal([0, 1], counters);
    }

    [Fact]
    public void Missing_metric_logs_hugging_faces_warning_and_does_not_stop()
    {
        var run = new Run(Args("f1"), new EarlyStoppingCallback(1));
        Assert.False(run.Evaluate(0.5));
        var log = new StringWriter();
        var (writer, verbosity) = (Logging.Writer, Logging.Verbosity);
        Logging.Writer = log;
        Logging.Verbosity = LogLevel.Warning;
        try
        {
            for (var i = 0; i < 3; i++)
                Assert.False(run.Evaluate(new Dictionary<string, double> { ["eval_loss"] = 0.9, ["eval_accuracy"] = 0.1 }));
        }
        finally
        {
            (Logging.Writer, Logging.Verbosity) = (writer, verbosity);
        }
        Assert.Equal(0, run.Callback.EarlyStoppingPatienceCounter);
        var lines = log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(3, lines.Length);
        Assert.All(lines, line => Assert.Equal(
            "early stopping required metric_for_best_model, but did not find eval_f1 so early stopping is disabled", line));
    }

    [Fact]
    public void Without_load_best_model_at_end_training_does_not_start()
    {
        var args = Args() with { LoadBestModelAtEnd = false };
        var e = Assert.Throws<ArgumentException>(() => new EarlyStoppingCallback().OnTrainBegin(args, new TrainerState(), new TrainerControl()));
        Assert.Equal(nameof(TrainingArguments.LoadBestModelAtEnd), e.ParamName);
        Assert.Contains("EarlyStoppingCallback requires LoadBestModelAtEnd (load_best_model_at_end) = true", e.Message);
    }

    [Fact]
    public void Without_an_eval_strategy_training_does_not_start()
    {
        var args = Args() with { EvalStrategy = IntervalStrategy.No };
        var e = Assert.Throws<ArgumentException>(() => new EarlyStoppingCallback().OnTrainBegin(args, new TrainerState(), new TrainerControl()));
        Assert.Equal(nameof(TrainingArguments.EvalStrategy), e.ParamName);
        Assert.Contains("EvalStrategy (eval_strategy) Steps or Epoch, got No", e.Message);
    }

    [Fact]
    public void Steps_strategy_and_the_default_metric_are_accepted()
    {
        var args = Args(metric: null) with { EvalStrategy = IntervalStrategy.Steps, SaveStrategy = SaveStrategy.Steps };
        new EarlyStoppingCallback().OnTrainBegin(args, new TrainerState(), new TrainerControl());
    }

    [Theory]
    [InlineData(0, 0.0, "earlyStoppingPatience")]
    [InlineData(-1, 0.0, "earlyStoppingPatience")]
    [InlineData(1, -0.01, "earlyStoppingThreshold")]
    [InlineData(1, double.NaN, "earlyStoppingThreshold")]
    [InlineData(1, double.PositiveInfinity, "earlyStoppingThreshold")]
    public void Bad_constructor_arguments_are_rejected(int patience, double threshold, string param)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new EarlyStoppingCallback(patience, threshold));
        Assert.Equal(param, e.ParamName);
    }

    [Fact]
    public void The_counter_can_be_restored_for_a_resumed_run()
    {
        var run = new Run(Args(), new EarlyStoppingCallback(3)) { };
        run.State.BestMetric = 0.9;
        run.Callback.EarlyStoppingPatienceCounter = 2;
        Assert.True(run.Evaluate(0.85));
        Assert.Equal(3, run.Callback.EarlyStoppingPatienceCounter);
    }
}
