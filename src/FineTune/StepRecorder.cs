using FineTuning.Training;

namespace FineTuning.FineTune;

/// <summary>One optimizer step as the report charts it.</summary>
/// <param name="Step">the global step (1 = after the first optimizer step).</param>
/// <param name="Loss">the step's training loss (mean over its accumulated batches).</param>
/// <param name="LearningRate">the learning rate after the step, as HF logs it (the scheduler's last_lr).</param>
internal sealed record StepRecord(int Step, double Loss, double LearningRate);

/// <summary>
/// Records every optimizer step's loss and learning rate for report.html, so the report always has a loss curve and
/// the schedule, however short the run and whatever <c>--logging_steps</c> is. HF's log history (trainer_state.json)
/// is left exactly as HF writes it: this callback only reads.
/// </summary>
internal sealed class StepRecorder : TrainerCallback
{
    readonly List<StepRecord> steps = [];

    /// <summary>The trainer whose steps are recorded (set right after it is made: it takes this callback).</summary>
    public Trainer? Trainer { get; set; }

    /// <summary>The steps of this run, in order.</summary>
    public IReadOnlyList<StepRecord> Steps => steps;

    public override void OnStepEnd(TrainingArguments args, TrainerState state, TrainerControl control)
    {
        if (Trainer is not { } trainer) return;
        var lr = trainer.LrScheduler is { } s ? s.LastLr[0] : double.NaN;
        steps.Add(new StepRecord(state.GlobalStep, trainer.LastStepLoss, lr));
    }
}
