namespace FineTuning.Training;

/// <summary>
/// HF <c>DefaultFlowCallback</c>: turns the logging / evaluation / saving strategies of <see cref="TrainingArguments"/>
/// into <see cref="TrainerControl"/> flags at each step end and epoch end, and stops training at
/// <see cref="TrainerState.MaxSteps"/>. The Trainer always runs it first, so user callbacks see (and may override)
/// its decisions.
/// </summary>
public sealed class DefaultFlowCallback : TrainerCallback
{
    /// <inheritdoc/>
    public override void OnStepEnd(TrainingArguments args, TrainerState state, TrainerControl control)
    {
        // Log
        if (state.GlobalStep == 1 && args.LoggingFirstStep) control.ShouldLog = true;
        if (args.LoggingStrategy == IntervalStrategy.Steps && state.LoggingSteps > 0 && state.GlobalStep % state.LoggingSteps == 0)
            control.ShouldLog = true;
        // Evaluate
        if (args.EvalStrategy == IntervalStrategy.Steps && state.EvalSteps > 0 && state.GlobalStep % state.EvalSteps == 0)
            control.ShouldEvaluate = true;
        // Save
        if (args.SaveStrategy == SaveStrategy.Steps && state.SaveSteps > 0 && state.GlobalStep % state.SaveSteps == 0)
            control.ShouldSave = true;
        // End training; with a step-based save strategy the last step is always saved.
        if (state.GlobalStep >= state.MaxSteps)
        {
            control.ShouldTrainingStop = true;
            if (args.SaveStrategy == SaveStrategy.Steps) control.ShouldSave = true;
        }
    }

    /// <inheritdoc/>
    public override void OnEpochEnd(TrainingArguments args, TrainerState state, TrainerControl control)
    {
        if (args.LoggingStrategy == IntervalStrategy.Epoch) control.ShouldLog = true;
        if (args.EvalStrategy == IntervalStrategy.Epoch) control.ShouldEvaluate = true;
        if (args.SaveStrategy == SaveStrategy.Epoch) control.ShouldSave = true;
    }
}
