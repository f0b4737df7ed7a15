namespace FineTuning.Benchmarks;

/// <summary>A figure as the report gives it: the median of several runs, and their min–max.</summary>
/// <param name="Median">median over the runs</param>
/// <param name="Min">smallest run</param>
/// <param name="Max">largest run</param>
/// <param name="Runs">the value of each run, in the order they were taken</param>
public sealed record Figure(double Median, double Min, double Max, IReadOnlyList<double> Runs)
{
    public static Figure Of(IEnumerable<double> values)
    {
        var runs = values.ToArray();
        if (runs.Length == 0) throw new ArgumentException("a figure needs at least one run", nameof(values));
        return new Figure(MedianOf(runs), runs.Min(), runs.Max(), runs);
    }

    /// <summary>The middle value (the mean of the two middle ones for an even count).</summary>
    public static double MedianOf(IReadOnlyCollection<double> values)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /// <summary>"12.3 (11.9–13.0)" with <paramref name="format"/> for each number.</summary>
    public string Format(string format = "F1") =>
        Runs.Count == 1 ? Median.ToString(format) : $"{Median.ToString(format)} ({Min.ToString(format)}–{Max.ToString(format)})";
}

/// <summary>A target of the issue and whether this run met it.</summary>
public sealed record TargetResult(string Target, string Measured, bool? Met, string Note = "")
{
    public string Verdict => Met switch { true => "PASS", false => "FALL SHORT", null => "NOT MEASURED" };
}
