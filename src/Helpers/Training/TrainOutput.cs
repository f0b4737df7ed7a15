namespace FineTuning.Training;

/// <summary>
/// HF <c>TrainOutput</c>: what <see cref="Trainer.Train(string?)"/> returns.
/// </summary>
/// <param name="GlobalStep">Optimizer steps taken in total (including those before a resume).</param>
/// <param name="TrainingLoss">Mean training loss over all optimizer steps (HF's <c>train_loss</c>).</param>
/// <param name="Metrics">train_runtime, train_samples_per_second, train_steps_per_second, total_flos, train_loss,
/// epoch.</param>
public sealed record TrainOutput(int GlobalStep, double TrainingLoss, IReadOnlyDictionary<string, double> Metrics);
