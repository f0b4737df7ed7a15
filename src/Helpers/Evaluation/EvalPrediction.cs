namespace FineTuning.Evaluation;

/// <summary>
/// HF <c>EvalPrediction</c>: what <c>compute_metrics</c> receives after an evaluation loop — the model's raw outputs
/// and the true labels, on the CPU as plain arrays.
/// </summary>
/// <param name="Predictions">(examples, num_labels) logits, row-major.</param>
/// <param name="LabelIds">(examples) class ids (or float targets, as doubles, for regression).</param>
/// <param name="NumLabels">columns of <paramref name="Predictions"/>.</param>
public sealed record EvalPrediction(float[] Predictions, double[] LabelIds, int NumLabels)
{
    public int Count => LabelIds.Length;

    /// <summary>np.argmax(logits, axis=-1): the predicted class of each example (first maximum on ties).</summary>
    public int[] ArgMax()
    {
        var result = new int[Count];
        for (int i = 0; i < Count; i++)
        {
            int best = 0;
            for (int j = 1; j < NumLabels; j++)
                if (Predictions[i * NumLabels + j] > Predictions[i * NumLabels + best]) best = j;
            result[i] = best;
        }
        return result;
    }

    /// <summary>The single output per example (regression, num_labels 1).</summary>
    public double[] Scores() => NumLabels == 1 ? Predictions.Select(p => (double)p).ToArray()
        : throw new InvalidOperationException($"Scores() is for regression heads (1 output); this one has {NumLabels}.");

    public int[] Labels() => LabelIds.Select(l => (int)l).ToArray();
}
