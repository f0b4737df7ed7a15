namespace FineTuning;

/// <summary>Paths in messages: a relative path that was not found is shown with the absolute path that was tried, because
/// "relative to what?" is the first question (a notebook kernel runs in <c>notebooks/</c>, a command in the shell's folder).</summary>
internal static class PathDisplay
{
    /// <summary><paramref name="path"/> itself when it is absolute; otherwise <c>path (= /abs/path)</c>.</summary>
    public static string WithFullPath(string path) => path + FullPathNote(path);

    /// <summary>"" when <paramref name="path"/> is absolute; otherwise <c> (= /abs/path)</c>, to follow the path in a message.</summary>
    public static string FullPathNote(string path) => Path.IsPathFullyQualified(path) ? "" : $" (= {Path.GetFullPath(path)})";
}
