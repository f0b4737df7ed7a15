namespace FineTuning.Evaluation;

/// <summary>How per-class scores are combined, as scikit-learn's <c>average</c>.</summary>
public enum Average { Binary, Micro, Macro, Weighted }

/// <summary>
/// The metrics HF's <c>evaluate</c> uses for GLUE, with scikit-learn's definitions: a zero denominator scores 0
/// (its <c>zero_division="warn"</c> result).
/// </summary>
public static class Metrics
{
    public static double Accuracy(IReadOnlyList<int> predictions, IReadOnlyList<int> references)
    {
        CheckLengths(predictions.Count, references.Count);
        return predictions.Count == 0 ? 0 : predictions.Zip(references).Count(p => p.First == p.Second) / (double)predictions.Count;
    }

    public static double Precision(IReadOnlyList<int> predictions, IReadOnlyList<int> references, Average average = Average.Binary, int positiveLabel = 1)
        => Score(predictions, references, average, positiveLabel, (tp, fp, fn) => Ratio(tp, tp + fp));

    public static double Recall(IReadOnlyList<int> predictions, IReadOnlyList<int> references, Average average = Average.Binary, int positiveLabel = 1)
        => Score(predictions, references, average, positiveLabel, (tp, fp, fn) => Ratio(tp, tp + fn));

    /// <summary>F1 = 2·TP / (2·TP + FP + FN) — scikit-learn's f1_score; MRPC and QQP report the binary one.</summary>
    public static double F1(IReadOnlyList<int> predictions, IReadOnlyList<int> references, Average average = Average.Binary, int positiveLabel = 1)
        => Score(predictions, references, average, positiveLabel, (tp, fp, fn) => Ratio(2 * tp, 2 * tp + fp + fn));

    /// <summary>Matthews correlation coefficient (CoLA), multi-class form as scikit-learn computes it.</summary>
    public static double MatthewsCorrelation(IReadOnlyList<int> predictions, IReadOnlyList<int> references)
    {
        CheckLengths(predictions.Count, references.Count);
        var classes = predictions.Concat(references).Distinct().ToArray();
        double n = predictions.Count, correct = predictions.Zip(references).Count(p => p.First == p.Second);
        double sumPT = 0, sumP2 = 0, sumT2 = 0;
        foreach (var k in classes)
        {
            double p = predictions.Count(x => x == k), t = references.Count(x => x == k);
            sumPT += p * t; sumP2 += p * p; sumT2 += t * t;
        }
        double denominator = Math.Sqrt((n * n - sumP2) * (n * n - sumT2));
        return denominator == 0 ? 0 : (correct * n - sumPT) / denominator;
    }

    /// <summary>Pearson's r (STS-B).</summary>
    public static double Pearson(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        CheckLengths(x.Count, y.Count);
        double mx = x.Average(), my = y.Average(), sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < x.Count; i++)
        {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
            syy += (y[i] - my) * (y[i] - my);
        }
        return sxx == 0 || syy == 0 ? double.NaN : sxy / Math.Sqrt(sxx * syy);
    }

    /// <summary>Spearman's ρ: Pearson's r of the ranks, ties given their average rank (scipy.stats.spearmanr).</summary>
    public static double Spearman(IReadOnlyList<double> x, IReadOnlyList<double> y) => Pearson(Ranks(x), Ranks(y));

    static double[] Ranks(IReadOnlyList<double> values)
    {
        var order = Enumerable.Range(0, values.Count).OrderBy(i => values[i]).ToArray();
        var ranks = new double[values.Count];
        for (int start = 0; start < order.Length;)
        {
            int end = start;
            while (end + 1 < order.Length && values[order[end + 1]] == values[order[start]]) end++;
            double rank = (start + end) / 2.0 + 1; // average of the 1-based ranks start+1 .. end+1
            for (int k = start; k <= end; k++) ranks[order[k]] = rank;
            start = end + 1;
        }
        return ranks;
    }

    static double Score(IReadOnlyList<int> predictions, IReadOnlyList<int> references, Average average, int positiveLabel,
                        Func<long, long, long, double> score)
    {
        CheckLengths(predictions.Count, references.Count);
        (long Tp, long Fp, long Fn) Counts(int k)
        {
            long tp = 0, fp = 0, fn = 0;
            for (int i = 0; i < predictions.Count; i++)
            {
                bool p = predictions[i] == k, t = references[i] == k;
                if (p && t) tp++; else if (p) fp++; else if (t) fn++;
            }
            return (tp, fp, fn);
        }
        if (average == Average.Binary)
        {
            var (tp, fp, fn) = Counts(positiveLabel);
            return score(tp, fp, fn);
        }
        var labels = predictions.Concat(references).Distinct().Order().ToArray();
        var counts = labels.Select(Counts).ToArray();
        if (average == Average.Micro)
            return score(counts.Sum(c => c.Tp), counts.Sum(c => c.Fp), counts.Sum(c => c.Fn));
        var scores = counts.Select(c => score(c.Tp, c.Fp, c.Fn)).ToArray();
        if (average == Average.Macro) return scores.Average();
        var support = labels.Select(k => (double)references.Count(r => r == k)).ToArray(); // weighted by true count
        double total = support.Sum();
        return total == 0 ? 0 : scores.Zip(support).Sum(p => p.First * p.Second) / total;
    }

    static double Ratio(long numerator, long denominator) => denominator == 0 ? 0 : (double)numerator / denominator;

    static void CheckLengths(int a, int b)
    {
        if (a != b) throw new ArgumentException($"predictions ({a}) and references ({b}) must have the same length.");
    }
}
