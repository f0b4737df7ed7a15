namespace FineTuning.Training;

/// <summary>
/// Training or evaluation could not go on: the loss became NaN or infinite, <c>computeMetrics</c> failed, or a
/// checkpoint could not be written (a full disk, an unwritable folder: the <see cref="Exception.InnerException"/> is
/// the <see cref="IOException"/>). The message says what happened and at which step; checkpoints written before are
/// kept.
/// </summary>
public sealed class TrainingException : Exception
{
    public TrainingException(int step, string message, Exception? inner = null) : base(message, inner) => Step = step;

    /// <summary>The optimizer step (1-based) at which it happened; for evaluation, the last completed step.</summary>
    public int Step { get; }
}
