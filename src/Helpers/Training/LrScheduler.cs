using System.Collections.ObjectModel;
using TorchSharp;

namespace FineTuning.Training;

/// <summary>
/// Applies a learning-rate multiplier λ(step) (see <see cref="LrSchedules"/>) to every parameter group of a
/// TorchSharp optimizer, as torch's <c>LambdaLR</c> does: each group's learning rate is base_lr × λ(step), where
/// base_lr is the group's learning rate when the scheduler was created.
/// </summary>
/// <remarks>
/// The constructor already applies λ(0) (for the linear warmup: learning rate 0 for the first optimizer step).
/// Call <see cref="Step"/> once after every optimizer step; <see cref="LastLr"/> is then what HF's Trainer logs as
/// "learning_rate". For a checkpoint only the step count is needed (<see cref="StateDict"/>): the base learning rates
/// come from the freshly built optimizer, as in HF.
/// </remarks>
public sealed class LrScheduler
{
    readonly torch.optim.ILearningRateController[] groups;
    readonly Func<int, double>? lambda;     // null for reduce_lr_on_plateau
    readonly PlateauOptions? plateau;       // reduce_lr_on_plateau only
    double[] lastLr = [];
    double plateauBest;
    int numBadEpochs, cooldownCounter;

    /// <summary>Records each group's current learning rate as its base and sets it to base × λ(0).</summary>
    /// <param name="optimizer">The optimizer whose groups' learning rates this sets.</param>
    /// <param name="lambda">The multiplier of the base learning rate at each step.</param>
    public LrScheduler(torch.optim.Optimizer optimizer, Func<int, double> lambda)
        : this(optimizer, lambda ?? throw new ArgumentNullException(nameof(lambda)), null) { }

    LrScheduler(torch.optim.Optimizer optimizer, Func<int, double>? lambda, PlateauOptions? plateau)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        this.lambda = lambda;
        this.plateau = plateau;
        plateauBest = plateau?.Mode == "max" ? double.NegativeInfinity : double.PositiveInfinity;
        groups = optimizer.ParamGroups.ToArray();
        if (groups.Length == 0) throw new ArgumentException("the optimizer has no parameter groups", nameof(optimizer));
        BaseLrs = new ReadOnlyCollection<double>(groups.Select(g => g.LearningRate).ToArray());
        foreach (var g in groups) g.InitialLearningRate = g.LearningRate; // torch's group["initial_lr"]
        CurrentStep = 0;
        Apply();
    }

    /// <summary>
    /// HF's <c>Trainer.create_scheduler</c>: the <see cref="TrainingArguments.LrSchedulerType"/> schedule with
    /// <see cref="TrainingArguments.GetWarmupSteps"/>(<paramref name="numTrainingSteps"/>) warmup steps and
    /// <see cref="TrainingArguments.LrSchedulerKwargs"/>, over <paramref name="numTrainingSteps"/> optimizer steps.
    /// </summary>
    /// <remarks>reduce_lr_on_plateau gives torch's <c>ReduceLROnPlateau</c> (see <see cref="ReduceLrOnPlateau"/>), in
    /// mode "max" when <see cref="TrainingArguments.EffectiveGreaterIsBetter"/> is true, "min" otherwise.</remarks>
    public static LrScheduler Create(torch.optim.Optimizer optimizer, TrainingArguments args, int numTrainingSteps)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.LrSchedulerType == SchedulerType.ReduceLrOnPlateau)
            return ReduceLrOnPlateau(optimizer, args.EffectiveGreaterIsBetter == true ? "max" : "min", args.LrSchedulerKwargs);
        var lambda = LrSchedules.Get(args.LrSchedulerType, args.GetWarmupSteps(numTrainingSteps), numTrainingSteps,
            args.LrSchedulerKwargs, args.LearningRate);
        return new LrScheduler(optimizer, lambda);
    }

    /// <summary>The learning rate of each group when the scheduler was created (torch's <c>base_lrs</c>).</summary>
    public IReadOnlyList<double> BaseLrs { get; }

    /// <summary>The step the current learning rates belong to: 0 after construction, +1 per <see cref="Step"/>
    /// (torch's <c>last_epoch</c>).</summary>
    public int CurrentStep { get; private set; }

    /// <summary>The learning rate of each group as last set (torch's <c>get_last_lr()</c>).</summary>
    public IReadOnlyList<double> LastLr => Array.AsReadOnly(lastLr);

    /// <summary>
    /// torch's <c>ReduceLROnPlateau</c>: the learning rates stay until the evaluation metric given to
    /// <see cref="StepOnMetric"/> has not improved (by more than <c>threshold</c>, relative) for more than
    /// <c>patience</c> evaluations; then each is multiplied by <c>factor</c> (not below <c>min_lr</c>), and
    /// <c>cooldown</c> evaluations pass before counting again. <paramref name="kwargs"/> (HF's lr_scheduler_kwargs) may set
    /// factor (0.1), patience (10), threshold (1e-4), cooldown (0), min_lr (0) and eps (1e-8), torch's defaults.
    /// </summary>
    /// <param name="optimizer">The optimizer whose groups' learning rates this lowers.</param>
    /// <param name="mode">"min" (a loss) or "max" (accuracy, F1...).</param>
    /// <param name="kwargs">Overrides of the defaults above.</param>
    public static LrScheduler ReduceLrOnPlateau(torch.optim.Optimizer optimizer, string mode = "min",
                                                IReadOnlyDictionary<string, double>? kwargs = null)
    {
        if (mode is not ("min" or "max")) throw new ArgumentException($"mode '{mode}' is unknown: use \"min\" or \"max\".", nameof(mode));
        kwargs ??= new Dictionary<string, double>();
        string[] allowed = ["factor", "patience", "threshold", "cooldown", "min_lr", "eps"];
        foreach (var key in kwargs.Keys)
            if (!allowed.Contains(key))
                throw new ArgumentException($"lr_scheduler_kwargs '{key}' is not an argument of the reduce_lr_on_plateau schedule "
                    + $"(it takes: {string.Join(", ", allowed)})", nameof(kwargs));
        double Arg(string key, double fallback) => kwargs.TryGetValue(key, out var v) ? v : fallback;
        var options = new PlateauOptions(mode, Arg("factor", 0.1), (int)Arg("patience", 10), Arg("threshold", 1e-4),
                                         (int)Arg("cooldown", 0), Arg("min_lr", 0), Arg("eps", 1e-8));
        if (!(options.Factor < 1.0 && options.Factor >= 0))
            throw new ArgumentException($"lr_scheduler_kwargs 'factor' is {options.Factor}: it must be in [0, 1) (the learning rate is multiplied by it)", nameof(kwargs));
        if (options.Patience < 0 || options.Cooldown < 0 || options.MinLr < 0 || options.Threshold < 0)
            throw new ArgumentException("lr_scheduler_kwargs 'patience', 'cooldown', 'min_lr' and 'threshold' must not be negative", nameof(kwargs));
        return new LrScheduler(optimizer, null, options);
    }

    /// <summary>Whether the learning rates follow an evaluation metric (<see cref="StepOnMetric"/>, reduce_lr_on_plateau)
    /// rather than the optimizer step (<see cref="Step"/>).</summary>
    public bool IsMetricDriven => plateau is not null;

    /// <summary>Advances one step and sets every group's learning rate to base_lr × λ(step).</summary>
    /// <exception cref="InvalidOperationException">A reduce_lr_on_plateau scheduler (it follows <see cref="StepOnMetric"/>).</exception>
    public void Step()
    {
        if (plateau is not null)
            throw new InvalidOperationException("reduce_lr_on_plateau follows the evaluation metric: call StepOnMetric(metric), not Step().");
        CurrentStep++;
        Apply();
    }

    /// <summary>reduce_lr_on_plateau (torch's <c>ReduceLROnPlateau.step(metrics)</c>): records an evaluation's metric and
    /// lowers the learning rates after more than patience evaluations without improvement. Returns whether it lowered them.</summary>
    /// <exception cref="InvalidOperationException">A step schedule (it follows <see cref="Step"/>).</exception>
    public bool StepOnMetric(double metric)
    {
        var p = plateau ?? throw new InvalidOperationException("only a reduce_lr_on_plateau scheduler is stepped with a metric; call Step().");
        CurrentStep++;
        bool better = p.Mode == "min" ? metric < plateauBest * (1 - p.Threshold) : metric > plateauBest * (1 + p.Threshold);
        if (better)
        {
            plateauBest = metric;
            numBadEpochs = 0;
        }
        else numBadEpochs++;
        if (cooldownCounter > 0)
        {
            cooldownCounter--;
            numBadEpochs = 0;
        }
        if (numBadEpochs <= p.Patience) return false;
        for (var i = 0; i < groups.Length; i++)
        {
            double lowered = Math.Max(lastLr[i] * p.Factor, p.MinLr);
            if (lastLr[i] - lowered > p.Eps) groups[i].LearningRate = lastLr[i] = lowered;
        }
        cooldownCounter = p.Cooldown;
        numBadEpochs = 0;
        return true;
    }

    void Apply()
    {
        var factor = lambda?.Invoke(CurrentStep) ?? 1.0;
        lastLr = new double[groups.Length];
        for (var i = 0; i < groups.Length; i++)
        {
            lastLr[i] = BaseLrs[i] * factor;
            groups[i].LearningRate = lastLr[i];
        }
    }

    /// <summary>What a checkpoint needs to resume the schedule: the step count; for reduce_lr_on_plateau also the
    /// learning rates, the best metric and the counters.</summary>
    public LrSchedulerState StateDict() => plateau is null
        ? new(CurrentStep)
        : new(CurrentStep, lastLr.ToArray(), plateauBest, numBadEpochs, cooldownCounter);

    /// <summary>Restores what <see cref="StateDict"/> returned and sets the learning rates of that step.</summary>
    public void LoadStateDict(LrSchedulerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentOutOfRangeException.ThrowIfNegative(state.Step, nameof(state));
        CurrentStep = state.Step;
        if (plateau is null)
        {
            Apply();
            return;
        }
        if (state.LastLr is not { } lrs || lrs.Count != groups.Length)
            throw new ArgumentException($"a reduce_lr_on_plateau state needs the last learning rate of each of the {groups.Length} groups", nameof(state));
        plateauBest = state.Best ?? (plateau.Mode == "max" ? double.NegativeInfinity : double.PositiveInfinity);
        numBadEpochs = state.NumBadEpochs;
        cooldownCounter = state.CooldownCounter;
        lastLr = lrs.ToArray();
        for (var i = 0; i < groups.Length; i++) groups[i].LearningRate = lastLr[i];
    }

    sealed record PlateauOptions(string Mode, double Factor, int Patience, double Threshold, int Cooldown, double MinLr, double Eps);
}

/// <summary>The saved state of an <see cref="LrScheduler"/>: the step it had reached (torch's <c>last_epoch</c>); for
/// reduce_lr_on_plateau also torch's <c>_last_lr</c>, <c>best</c> (null: no metric seen yet), <c>num_bad_epochs</c> and
/// <c>cooldown_counter</c>.</summary>
/// <param name="Step">The scheduler's <see cref="LrScheduler.CurrentStep"/>.</param>
public sealed record LrSchedulerState(int Step, IReadOnlyList<double>? LastLr = null, double? Best = null,
                                      int NumBadEpochs = 0, int CooldownCounter = 0);
