namespace FineTuning.Evaluation;

/// <summary>
/// HF <c>evaluate.load("glue", task)</c>: the metrics each GLUE task reports, as a <c>computeMetrics</c> function
/// (argmax of the logits, then the task's scores): mrpc and qqp → accuracy and f1; cola → matthews_correlation;
/// stsb → pearson and spearmanr; the others → accuracy.
/// </summary>
public static class GlueMetric
{
    public static readonly IReadOnlyList<string> Tasks =
        ["cola", "sst2", "mrpc", "qqp", "stsb", "mnli", "mnli_matched", "mnli_mismatched", "qnli", "rte", "wnli", "hans", "ax"];

    /// <exception cref="ArgumentException">for a task name outside <see cref="Tasks"/> (the message lists them).</exception>
    public static Func<EvalPrediction, Dictionary<string, double>> For(string task) => task switch
    {
        "mrpc" or "qqp" => p =>
        {
            int[] predictions = p.ArgMax(), labels = p.Labels();
            return new() { ["accuracy"] = Metrics.Accuracy(predictions, labels), ["f1"] = Metrics.F1(predictions, labels) };
        },
        "cola" => p => new() { ["matthews_correlation"] = Metrics.MatthewsCorrelation(p.ArgMax(), p.Labels()) },
        "stsb" => p =>
        {
            double[] scores = p.Scores();
            return new() { ["pearson"] = Metrics.Pearson(scores, p.LabelIds), ["spearmanr"] = Metrics.Spearman(scores, p.LabelIds) };
        },
        _ when Tasks.Contains(task) => p => new() { ["accuracy"] = Metrics.Accuracy(p.ArgMax(), p.Labels()) },
        _ => throw new ArgumentException($"Unknown GLUE task '{task}'. Known: {string.Join(", ", Tasks)}.", nameof(task)),
    };
}
