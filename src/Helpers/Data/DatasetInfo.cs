namespace FineTuning.Data;

/// <summary>Where a dataset came from (HF <c>DatasetInfo</c>, reduced to what this library tracks).</summary>
/// <param name="DataFiles">the files the rows were read from (empty for datasets built in memory).</param>
/// <param name="SkippedRows">bad rows left out because the loader was called with <c>skipBadRows: true</c>.</param>
public sealed record DatasetInfo(IReadOnlyList<string> DataFiles, int SkippedRows)
{
    public static DatasetInfo Empty { get; } = new([], 0);
}
