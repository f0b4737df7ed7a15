using System.Globalization;

namespace FineTuning.Training;

/// <summary>
/// The learning-rate schedules of HF's <c>transformers.optimization</c> (<c>get_scheduler</c> and the
/// <c>get_*_schedule_with_warmup</c> functions) as pure functions: each gives the multiplier λ(step) of the initial
/// learning rate at a (0-based) optimizer step, with HF's exact formulas. <see cref="LrScheduler"/> applies them to an
/// optimizer the way torch's <c>LambdaLR</c> does.
/// </summary>
/// <remarks>
/// During warmup (step &lt; W) every schedule with warmup is step / max(1, W), so the first optimizer step runs with
/// learning rate 0 (HF does the same).
/// </remarks>
public static class LrSchedules
{
    /// <summary>
    /// HF's <c>get_scheduler(name, optimizer, num_warmup_steps, num_training_steps, scheduler_specific_kwargs)</c>,
    /// returning the multiplier function.
    /// </summary>
    /// <param name="type">The schedule.</param>
    /// <param name="numWarmupSteps">W, &gt;= 0 (see <see cref="TrainingArguments.GetWarmupSteps"/>).</param>
    /// <param name="numTrainingSteps">T, the total number of optimizer steps, &gt;= 0.</param>
    /// <param name="kwargs">Schedule-specific arguments (HF's lr_scheduler_kwargs): num_cycles (cosine,
    /// cosine_with_restarts), lr_end and power (polynomial), timescale (inverse_sqrt). Others are an error.</param>
    /// <param name="initialLr">The optimizer's learning rate; required by polynomial, whose decay ends at an absolute
    /// lr_end (HF reads <c>optimizer.defaults["lr"]</c>).</param>
    /// <exception cref="ArgumentException">Negative step counts, an unknown kwarg, polynomial without
    /// <paramref name="initialLr"/> or with lr_end &gt;= initialLr.</exception>
    /// <exception cref="NotSupportedException">ReduceLrOnPlateau: it is driven by an eval metric, not by the step
    /// (see <see cref="LrScheduler.ReduceLrOnPlateau"/>).</exception>
    public static Func<int, double> Get(SchedulerType type, int numWarmupSteps, int numTrainingSteps,
        IReadOnlyDictionary<string, double>? kwargs = null, double? initialLr = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(numWarmupSteps);
        ArgumentOutOfRangeException.ThrowIfNegative(numTrainingSteps);
        kwargs ??= new Dictionary<string, double>();

        string[] allowed = type switch
        {
            SchedulerType.Cosine or SchedulerType.CosineWithRestarts => ["num_cycles"],
            SchedulerType.Polynomial => ["lr_end", "power"],
            SchedulerType.InverseSqrt => ["timescale"],
            _ => [],
        };
        foreach (var key in kwargs.Keys)
            if (!allowed.Contains(key))
                throw new ArgumentException($"lr_scheduler_kwargs '{key}' is not an argument of the {type.ToPython()} schedule"
                    + (allowed.Length == 0 ? " (it takes none)" : $" (it takes: {string.Join(", ", allowed)})"), nameof(kwargs));
        double Arg(string key, double fallback) => kwargs.TryGetValue(key, out var v) ? v : fallback;

        return type switch
        {
            SchedulerType.Linear => Linear(numWarmupSteps, numTrainingSteps),
            SchedulerType.Cosine => Cosine(numWarmupSteps, numTrainingSteps, Arg("num_cycles", 0.5)),
            SchedulerType.CosineWithRestarts => CosineWithHardRestarts(numWarmupSteps, numTrainingSteps, Arg("num_cycles", 1)),
            SchedulerType.Polynomial => Polynomial(numWarmupSteps, numTrainingSteps,
                initialLr ?? throw new ArgumentException("the polynomial schedule needs the optimizer's initial learning rate", nameof(initialLr)),
                Arg("lr_end", 1e-7), Arg("power", 1.0)),
            SchedulerType.Constant => Constant(),
            SchedulerType.ConstantWithWarmup => ConstantWithWarmup(numWarmupSteps),
            SchedulerType.InverseSqrt => InverseSqrt(numWarmupSteps, kwargs.TryGetValue("timescale", out var t) ? t : null),
            SchedulerType.ReduceLrOnPlateau => throw new NotSupportedException(
                "reduce_lr_on_plateau has no multiplier per step: it follows the eval metric (LrScheduler.ReduceLrOnPlateau)"),
            _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
        };
    }

    static double Warmup(int step, int warmup) => (double)step / Math.Max(1, warmup);

    /// <summary>HF <c>get_constant_schedule</c>: λ = 1.</summary>
    public static Func<int, double> Constant() => _ => 1.0;

    /// <summary>HF <c>get_constant_schedule_with_warmup</c>: s / max(1, W) during warmup, then 1.</summary>
    public static Func<int, double> ConstantWithWarmup(int numWarmupSteps) =>
        step => step < numWarmupSteps ? Warmup(step, numWarmupSteps) : 1.0;

    /// <summary>HF <c>get_linear_schedule_with_warmup</c>: s / max(1, W) during warmup, then
    /// max(0, (T − s) / max(1, T − W)).</summary>
    public static Func<int, double> Linear(int numWarmupSteps, int numTrainingSteps) =>
        step => step < numWarmupSteps
            ? Warmup(step, numWarmupSteps)
            : Math.Max(0.0, (double)(numTrainingSteps - step) / Math.Max(1, numTrainingSteps - numWarmupSteps));

    /// <summary>HF <c>get_cosine_schedule_with_warmup</c>: after warmup, with p = (s − W) / max(1, T − W),
    /// max(0, ½(1 + cos(π · 2 · numCycles · p))). numCycles 0.5 (the default) is half a cosine from 1 to 0.</summary>
    public static Func<int, double> Cosine(int numWarmupSteps, int numTrainingSteps, double numCycles = 0.5) =>
        step =>
        {
            if (step < numWarmupSteps) return Warmup(step, numWarmupSteps);
            var progress = (double)(step - numWarmupSteps) / Math.Max(1, numTrainingSteps - numWarmupSteps);
            return Math.Max(0.0, 0.5 * (1.0 + Math.Cos(Math.PI * numCycles * 2.0 * progress)));
        };

    /// <summary>HF <c>get_cosine_with_hard_restarts_schedule_with_warmup</c>: after warmup, with
    /// p = (s − W) / max(1, T − W), 0 once p &gt;= 1, else max(0, ½(1 + cos(π · ((numCycles · p) mod 1)))).</summary>
    public static Func<int, double> CosineWithHardRestarts(int numWarmupSteps, int numTrainingSteps, double numCycles = 1) =>
        step =>
        {
            if (step < numWarmupSteps) return Warmup(step, numWarmupSteps);
            var progress = (double)(step - numWarmupSteps) / Math.Max(1, numTrainingSteps - numWarmupSteps);
            if (progress >= 1.0) return 0.0;
            return Math.Max(0.0, 0.5 * (1.0 + Math.Cos(Math.PI * (numCycles * progress % 1.0))));
        };

    /// <summary>HF <c>get_polynomial_decay_schedule_with_warmup</c>: after warmup the learning rate falls from
    /// <paramref name="initialLr"/> to <paramref name="lrEnd"/> as (lr_init − lr_end)(1 − (s − W)/(T − W))^power +
    /// lr_end, and stays at lr_end after T; the multiplier is that divided by lr_init.</summary>
    /// <exception cref="ArgumentException"><paramref name="lrEnd"/> is not smaller than <paramref name="initialLr"/>
    /// (HF's message).</exception>
    public static Func<int, double> Polynomial(int numWarmupSteps, int numTrainingSteps, double initialLr,
        double lrEnd = 1e-7, double power = 1.0)
    {
        if (!(initialLr > lrEnd))
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"lr_end ({PythonJson.Float(lrEnd)}) must be smaller than initial lr ({PythonJson.Float(initialLr)})"), nameof(lrEnd));
        return step =>
        {
            if (step < numWarmupSteps) return Warmup(step, numWarmupSteps);
            if (step > numTrainingSteps) return lrEnd / initialLr;
            var lrRange = initialLr - lrEnd;
            var decaySteps = numTrainingSteps - numWarmupSteps;
            if (decaySteps == 0) return lrEnd / initialLr; // T == W: HF divides by zero here
            var pctRemaining = 1.0 - (double)(step - numWarmupSteps) / decaySteps;
            var decay = lrRange * Math.Pow(pctRemaining, power) + lrEnd;
            return decay / initialLr;
        };
    }

    /// <summary>HF <c>get_inverse_sqrt_schedule</c>: after warmup, 1 / sqrt((s + shift) / timescale) with
    /// shift = timescale − W; timescale defaults to W, or 10 000 when W is 0.</summary>
    public static Func<int, double> InverseSqrt(int numWarmupSteps, double? timescale = null)
    {
        var ts = timescale ?? (numWarmupSteps > 0 ? numWarmupSteps : 10_000);
        var shift = ts - numWarmupSteps;
        return step => step < numWarmupSteps
            ? Warmup(step, numWarmupSteps)
            : 1.0 / Math.Sqrt((step + shift) / ts);
    }
}
