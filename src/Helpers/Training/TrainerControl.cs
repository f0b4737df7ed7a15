namespace FineTuning.Training;

/// <summary>
/// HF <c>TrainerControl</c>: flags that callbacks set to steer the loop. The Trainer reads them after each event and
/// resets the per-step ones (log / evaluate / save) once it has acted on them, as HF does.
/// </summary>
public sealed class TrainerControl
{
    /// <summary>Stop training now (after this step's log / evaluate / save). Early stopping sets it.</summary>
    public bool ShouldTrainingStop { get; set; }

    /// <summary>Stop the current epoch (go on with the next one).</summary>
    public bool ShouldEpochStop { get; set; }

    /// <summary>Save a checkpoint at this step.</summary>
    public bool ShouldSave { get; set; }

    /// <summary>Evaluate at this step.</summary>
    public bool ShouldEvaluate { get; set; }

    /// <summary>Log (append to the log history and call <see cref="TrainerCallback.OnLog"/>) at this step.</summary>
    public bool ShouldLog { get; set; }

    /// <summary>Clears the flags that belong to one training run (at train begin).</summary>
    internal void NewTraining() => ShouldTrainingStop = false;

    /// <summary>Clears the per-epoch flag (at epoch begin).</summary>
    internal void NewEpoch() => ShouldEpochStop = false;

    /// <summary>Clears the per-step flags (at step begin).</summary>
    internal void NewStep()
    {
        ShouldSave = false;
        ShouldEvaluate = false;
        ShouldLog = false;
    }
}
