namespace FineTuning.Training;

/// <summary>
/// How long a training run is, as HF's <c>_inner_training_loop</c> computes it from the arguments and the data:
/// optimizer steps per epoch = ceil(batches / GradientAccumulationSteps); MaxSteps when set (&gt; 0), else
/// ceil(NumTrainEpochs × steps per epoch).
/// </summary>
/// <param name="UpdatesPerEpoch">Optimizer steps per epoch (the last one may accumulate fewer batches).</param>
/// <param name="MaxSteps">Optimizer steps in total.</param>
/// <param name="NumTrainEpochs">Epochs the loop starts (whole, rounded up).</param>
/// <param name="NumTrainSamples">Examples trained on, for train_samples_per_second.</param>
/// <param name="TotalTrainBatchSize">Examples per optimizer step (batch size × accumulation).</param>
public sealed record TrainingPlan(int UpdatesPerEpoch, int MaxSteps, int NumTrainEpochs, double NumTrainSamples, int TotalTrainBatchSize)
{
    /// <exception cref="InvalidOperationException">The data gives no batch (e.g. DataloaderDropLast with fewer
    /// examples than one batch).</exception>
    public static TrainingPlan For(TrainingArguments args, int batchesPerEpoch, int examples)
    {
        if (batchesPerEpoch == 0)
            throw new InvalidOperationException($"The training set has {examples} examples, fewer than one batch of "
                + $"{args.PerDeviceTrainBatchSize}, and DataloaderDropLast (dataloader_drop_last) is set: no batch is left to train on.");
        int ga = args.GradientAccumulationSteps;
        int updatesPerEpoch = Math.Max(batchesPerEpoch / ga + (batchesPerEpoch % ga > 0 ? 1 : 0), 1);
        int total = args.PerDeviceTrainBatchSize * ga;
        if (args.MaxSteps > 0)
            return new(updatesPerEpoch, args.MaxSteps,
                       args.MaxSteps / updatesPerEpoch + (args.MaxSteps % updatesPerEpoch > 0 ? 1 : 0),
                       (double)args.MaxSteps * total, total);
        return new(updatesPerEpoch, (int)Math.Ceiling(args.NumTrainEpochs * updatesPerEpoch), (int)Math.Ceiling(args.NumTrainEpochs),
                   examples * args.NumTrainEpochs, total);
    }
}
