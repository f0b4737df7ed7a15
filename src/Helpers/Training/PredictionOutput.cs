namespace FineTuning.Training;

/// <summary>
/// HF <c>PredictionOutput</c>: what <see cref="Trainer.Predict"/> returns, on the CPU.
/// </summary>
/// <param name="Predictions">(examples, num_labels) logits, in data set order.</param>
/// <param name="LabelIds">(examples) the labels, or null when the data set has none.</param>
/// <param name="Metrics">test_loss (when there are labels), test_&lt;metric&gt; from computeMetrics, test_runtime,
/// test_samples_per_second, test_steps_per_second.</param>
public sealed record PredictionOutput(float[,] Predictions, double[]? LabelIds, IReadOnlyDictionary<string, double> Metrics)
{
    /// <summary>np.argmax(predictions, axis=-1): the predicted class of each example (first maximum on ties).</summary>
    public int[] ArgMax()
    {
        var result = new int[Predictions.GetLength(0)];
        for (int i = 0; i < result.Length; i++)
            for (int j = 1; j < Predictions.GetLength(1); j++)
                if (Predictions[i, j] > Predictions[i, result[i]]) result[i] = j;
        return result;
    }
}
