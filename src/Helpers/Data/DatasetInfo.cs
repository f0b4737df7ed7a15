namespace FineTuning.Data;

/// <summary>Where a dataset came from (HF <c>DatasetInfo</c>, reduced to what this library tracks).</summary>
/// <param name="DataFiles">the files the rows were read from (empty for datasets built in memory).</param>
/// <param name="SkippedRows">bad rows left out because the loader was called with <c>skipBadRows: true</c>.</param>
public sealed record DatasetInfo(IReadOnlyList<string> DataFiles, int SkippedRows)
{
    public static DatasetInfo Empty { get; } = new([], 0);

    /// <summary>For rows read from one text file (CSV, TSV, JSON lines): the 1-based line each row starts on, so that
    /// a later check can name it; null when unknown (parquet, several files, or rows selected or mapped since).</summary>
    public IReadOnlyList<int>? Lines { get; init; }

    /// <summary>"line N" of row <paramref name="row"/> (0-based) when known, else "data row N+1".</summary>
    public string Where(int row) => Lines is { } lines && row < lines.Count ? $"line {lines[row]}" : $"data row {row + 1}";
}
