namespace FineTuning.Training;

/// <summary>
/// HF <c>EarlyStoppingCallback</c>: stops training once <see cref="TrainingArguments.MetricForBestModel"/> has failed
/// to improve for <see cref="EarlyStoppingPatience"/> evaluations in a row.
/// </summary>
/// <remarks>
/// <para>Each evaluation is compared with <see cref="TrainerState.BestMetric"/>, the best value <em>before</em> this
/// evaluation, which the Trainer keeps when it saves a checkpoint with <see cref="TrainingArguments.LoadBestModelAtEnd"/>
/// set; that is why the callback requires it (and an evaluation strategy, and a metric). It counts an improvement
/// when there is no best value yet, or when the value is better (greater when
/// <see cref="TrainingArguments.EffectiveGreaterIsBetter"/>, smaller otherwise) by more than
/// <see cref="EarlyStoppingThreshold"/>; an improvement resets <see cref="EarlyStoppingPatienceCounter"/> to 0,
/// anything else adds 1, and once the counter reaches the patience it sets
/// <see cref="TrainerControl.ShouldTrainingStop"/>.</para>
/// <para>Because the Trainer moves <see cref="TrainerState.BestMetric"/> on every strict improvement, even one below
/// the threshold, a slow steady gain (each step smaller than the threshold) counts as no improvement, as in HF.
/// With <see cref="TrainingArguments.SaveSteps"/> larger than the evaluation interval, the best value only moves on
/// save steps, as in HF.</para>
/// </remarks>
public sealed class EarlyStoppingCallback : TrainerCallback
{
    /// <summary>Creates the callback.</summary>
    /// <param name="earlyStoppingPatience">HF <c>early_stopping_patience</c>, default 1: how many evaluations in a row
    /// without improvement stop training. At least 1; 2 or 3 is typical for per-epoch evaluation.</param>
    /// <param name="earlyStoppingThreshold">HF <c>early_stopping_threshold</c>, default 0: by how much the metric must
    /// beat the best value to count as an improvement (in the metric's units; 0 means any strict improvement). A finite
    /// number &gt;= 0.</param>
    /// <exception cref="ArgumentOutOfRangeException">Patience below 1 (HF would stop at the first evaluation whatever
    /// the metric), or a negative / non-finite threshold.</exception>
    public EarlyStoppingCallback(int earlyStoppingPatience = 1, double earlyStoppingThreshold = 0.0)
    {
        if (earlyStoppingPatience < 1)
            throw new ArgumentOutOfRangeException(nameof(earlyStoppingPatience), earlyStoppingPatience,
                "earlyStoppingPatience (early_stopping_patience) must be at least 1: it is the number of evaluations "
                + "in a row without improvement that stop training");
        if (!(earlyStoppingThreshold >= 0) || !double.IsFinite(earlyStoppingThreshold))
            throw new ArgumentOutOfRangeException(nameof(earlyStoppingThreshold), earlyStoppingThreshold,
                "earlyStoppingThreshold (early_stopping_threshold) must be a finite number >= 0: the margin by which "
                + "the metric must beat the best value so far");
        EarlyStoppingPatience = earlyStoppingPatience;
        EarlyStoppingThreshold = earlyStoppingThreshold;
    }

    /// <summary>HF <c>early_stopping_patience</c>: evaluations in a row without improvement that stop training.</summary>
    public int EarlyStoppingPatience { get; }

    /// <summary>HF <c>early_stopping_threshold</c>: the margin an improvement must exceed.</summary>
    public double EarlyStoppingThreshold { get; }

    /// <summary>HF <c>early_stopping_patience_counter</c>: evaluations in a row that did not improve on the best value
    /// (0 after an improvement). Settable so that a resumed run can restore it (HF keeps it in the checkpoint's
    /// <c>stateful_callbacks</c>).</summary>
    public int EarlyStoppingPatienceCounter { get; set; }

    /// <summary>HF <c>check_metric_value</c>: updates <see cref="EarlyStoppingPatienceCounter"/> for one metric
    /// value, comparing it with <see cref="TrainerState.BestMetric"/>.</summary>
    public void CheckMetricValue(TrainingArguments args, TrainerState state, TrainerControl control, double metricValue)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(state);
        // The Trainer sets BestMetric when it saves a checkpoint (LoadBestModelAtEnd).
        var greaterIsBetter = args.EffectiveGreaterIsBetter == true;
        if (state.BestMetric is not { } best
            || ((greaterIsBetter ? metricValue > best : metricValue < best)
                && Math.Abs(metricValue - best) > EarlyStoppingThreshold))
            EarlyStoppingPatienceCounter = 0;
        else
            EarlyStoppingPatienceCounter++;
    }

    /// <summary>Checks that the run can stop early: <see cref="TrainingArguments.LoadBestModelAtEnd"/> set (the
    /// Trainer tracks <see cref="TrainerState.BestMetric"/> only then), a metric
    /// (<see cref="TrainingArguments.EffectiveMetricForBestModel"/>), and an <see cref="TrainingArguments.EvalStrategy"/>
    /// other than No. HF asserts the same three things.</summary>
    /// <exception cref="ArgumentException">One of them is missing; <see cref="ArgumentException.ParamName"/> is the
    /// <see cref="TrainingArguments"/> property to set.</exception>
    public override void OnTrainBegin(TrainingArguments args, TrainerState state, TrainerControl control)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (!args.LoadBestModelAtEnd)
            throw new ArgumentException(
                "EarlyStoppingCallback requires LoadBestModelAtEnd (load_best_model_at_end) = true: early stopping compares "
                + "each evaluation with TrainerState.BestMetric, which the Trainer tracks only when it keeps the best model",
                nameof(TrainingArguments.LoadBestModelAtEnd));
        if (args.EffectiveMetricForBestModel is null)
            throw new ArgumentException(
                "EarlyStoppingCallback requires MetricForBestModel (metric_for_best_model) to be set, e.g. \"loss\", "
                + "\"accuracy\" or \"f1\": it is the metric whose lack of improvement stops training",
                nameof(TrainingArguments.MetricForBestModel));
        if (args.EvalStrategy == IntervalStrategy.No)
            throw new ArgumentException(
                "EarlyStoppingCallback requires EvalStrategy (eval_strategy) Steps or Epoch, got No: without evaluations "
                + "there is no metric to watch",
                nameof(TrainingArguments.EvalStrategy));
    }

    /// <summary>Looks up the metric ("eval_" + <see cref="TrainingArguments.EffectiveMetricForBestModel"/> unless it
    /// already starts with "eval_"), updates the counter, and sets <see cref="TrainerControl.ShouldTrainingStop"/>
    /// once it reaches the patience. A missing metric logs HF's warning and changes nothing.</summary>
    public override void OnEvaluate(TrainingArguments args, TrainerState state, TrainerControl control,
                                    IReadOnlyDictionary<string, double> metrics)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(control);
        ArgumentNullException.ThrowIfNull(metrics);
        var metricToCheck = args.EffectiveMetricForBestModel ?? "loss";
        if (!metricToCheck.StartsWith("eval_", StringComparison.Ordinal)) metricToCheck = "eval_" + metricToCheck;

        if (!metrics.TryGetValue(metricToCheck, out var metricValue))
        {
            Logging.Warning($"early stopping required metric_for_best_model, but did not find {metricToCheck} so early "
                + "stopping is disabled");
            return;
        }

        CheckMetricValue(args, state, control, metricValue);
        if (EarlyStoppingPatienceCounter >= EarlyStoppingPatience) control.ShouldTrainingStop = true;
    }
}
