namespace FineTuning.Data;

/// <summary>
/// A data file that cannot be read as a dataset: ragged row, bad label, invalid UTF-8 or JSON, missing column, ...
/// The message always starts with the file, then the 1-based line and the column or field when they are known,
/// e.g. <c>/data/mrpc/train.tsv, line 17, column 'Quality': label 'x' is not an integer</c>.
/// </summary>
public sealed class DatasetFormatException : FormatException
{
    public DatasetFormatException(string filePath, int? line, string? column, string problem, Exception? inner = null)
        : base(Describe(filePath, line, column) + ": " + problem, inner)
    {
        FilePath = filePath;
        Line = line;
        Column = column;
        Problem = problem;
    }

    /// <summary>The file that holds the problem.</summary>
    public string FilePath { get; }

    /// <summary>The 1-based line (of the file, header included) where the bad row starts; null for whole-file problems.</summary>
    public int? Line { get; }

    /// <summary>The column or JSON field at fault, when one is.</summary>
    public string? Column { get; }

    /// <summary>The problem alone, without the location.</summary>
    public string Problem { get; }

    internal static string Describe(string filePath, int? line, string? column) =>
        filePath + (line is { } l ? $", line {l}" : "") + (column is null ? "" : $", column '{column}'");
}
