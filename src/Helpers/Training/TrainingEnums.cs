namespace FineTuning.Training;

/// <summary>When something (evaluation, logging) happens during training: HF's <c>IntervalStrategy</c>.
/// JSON values: "no", "steps", "epoch".</summary>
public enum IntervalStrategy
{
    /// <summary>"no": never.</summary>
    No,
    /// <summary>"steps": every N optimizer steps.</summary>
    Steps,
    /// <summary>"epoch": at the end of every epoch.</summary>
    Epoch,
}

/// <summary>When checkpoints are saved: HF's <c>SaveStrategy</c>. JSON values: "no", "steps", "epoch", "best".</summary>
public enum SaveStrategy
{
    /// <summary>"no": never.</summary>
    No,
    /// <summary>"steps": every <see cref="TrainingArguments.SaveSteps"/> optimizer steps.</summary>
    Steps,
    /// <summary>"epoch": at the end of every epoch.</summary>
    Epoch,
    /// <summary>"best": whenever <see cref="TrainingArguments.MetricForBestModel"/> reaches a new best.</summary>
    Best,
}

/// <summary>The learning-rate schedule: HF's <c>SchedulerType</c>. JSON values: "linear", "cosine",
/// "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup", "inverse_sqrt",
/// "reduce_lr_on_plateau".</summary>
public enum SchedulerType
{
    /// <summary>"linear": warmup from 0, then linear decay to 0 (HF's default).</summary>
    Linear,
    /// <summary>"cosine": warmup, then half a cosine down to 0.</summary>
    Cosine,
    /// <summary>"cosine_with_restarts": warmup, then cosine cycles with hard restarts.</summary>
    CosineWithRestarts,
    /// <summary>"polynomial": warmup, then polynomial decay to lr_end.</summary>
    Polynomial,
    /// <summary>"constant": the learning rate throughout.</summary>
    Constant,
    /// <summary>"constant_with_warmup": linear warmup, then constant.</summary>
    ConstantWithWarmup,
    /// <summary>"inverse_sqrt": warmup, then 1/sqrt((step + shift) / timescale).</summary>
    InverseSqrt,
    /// <summary>"reduce_lr_on_plateau": divide by 10 when the eval metric stops improving (torch's ReduceLROnPlateau).</summary>
    ReduceLrOnPlateau,
}

/// <summary>The Python (JSON) names of the training enums.</summary>
public static class TrainingEnumNames
{
    /// <summary>"no", "steps" or "epoch".</summary>
    public static string ToPython(this IntervalStrategy value) => value switch
    {
        IntervalStrategy.No => "no",
        IntervalStrategy.Steps => "steps",
        IntervalStrategy.Epoch => "epoch",
        _ => throw new ArgumentOutOfRangeException(nameof(value), value, null),
    };

    /// <summary>"no", "steps", "epoch" or "best".</summary>
    public static string ToPython(this SaveStrategy value) => value switch
    {
        SaveStrategy.No => "no",
        SaveStrategy.Steps => "steps",
        SaveStrategy.Epoch => "epoch",
        SaveStrategy.Best => "best",
        _ => throw new ArgumentOutOfRangeException(nameof(value), value, null),
    };

    /// <summary>HF's snake_case name, e.g. "cosine_with_restarts".</summary>
    public static string ToPython(this SchedulerType value) => value switch
    {
        SchedulerType.Linear => "linear",
        SchedulerType.Cosine => "cosine",
        SchedulerType.CosineWithRestarts => "cosine_with_restarts",
        SchedulerType.Polynomial => "polynomial",
        SchedulerType.Constant => "constant",
        SchedulerType.ConstantWithWarmup => "constant_with_warmup",
        SchedulerType.InverseSqrt => "inverse_sqrt",
        SchedulerType.ReduceLrOnPlateau => "reduce_lr_on_plateau",
        _ => throw new ArgumentOutOfRangeException(nameof(value), value, null),
    };

    /// <summary>Parses a Python name (exact, lower case); false when unknown.</summary>
    public static bool TryParse(string name, out IntervalStrategy value) =>
        TryParse(name, Enum.GetValues<IntervalStrategy>(), v => v.ToPython(), out value);

    /// <inheritdoc cref="TryParse(string, out IntervalStrategy)"/>
    public static bool TryParse(string name, out SaveStrategy value) =>
        TryParse(name, Enum.GetValues<SaveStrategy>(), v => v.ToPython(), out value);

    /// <inheritdoc cref="TryParse(string, out IntervalStrategy)"/>
    public static bool TryParse(string name, out SchedulerType value) =>
        TryParse(name, Enum.GetValues<SchedulerType>(), v => v.ToPython(), out value);

    static bool TryParse<T>(string name, T[] values, Func<T, string> toPython, out T value) where T : struct, Enum
    {
        foreach (var v in values)
            if (toPython(v) == name) { value = v; return true; }
        value = default;
        return false;
    }
}
