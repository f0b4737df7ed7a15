namespace FineTuning;

/// <summary>How much the library reports, as HF's <c>transformers.logging.set_verbosity_*</c>.</summary>
public enum LogLevel { Debug = 10, Info = 20, Warning = 30, Error = 40 }

/// <summary>
/// The library's log: warnings (such as the head-swap report) go to standard error by default, as Python's
/// logging does. <c>Logging.Verbosity = LogLevel.Error</c> silences them; <see cref="Writer"/> redirects them.
/// </summary>
public static class Logging
{
    /// <summary>Messages below this level are dropped. Default: <see cref="LogLevel.Warning"/> (HF's default).</summary>
    public static LogLevel Verbosity { get; set; } = LogLevel.Warning;

    /// <summary>Where messages go. Default: <see cref="Console.Error"/>.</summary>
    public static TextWriter Writer { get; set; } = Console.Error;

    public static void Log(LogLevel level, string message)
    {
        if (level < Verbosity) return;
        ClearProgressLine();
        Writer.WriteLine(message);
    }

    /// <summary>Set by a <see cref="Training.ProgressCallback"/> while its bar is drawn in place on a terminal: blanks
    /// that line, so a message written next starts at the first column instead of after the bar (tqdm's
    /// <c>logging_redirect_tqdm</c>). The bar is redrawn at its next update.</summary>
    internal static Action? ProgressLineClearer { get; set; }

    /// <summary>Blanks a progress bar drawn in place on the terminal, if any (see <see cref="ProgressLineClearer"/>);
    /// writes nothing when no bar is on screen or the output is not a terminal.</summary>
    internal static void ClearProgressLine() => ProgressLineClearer?.Invoke();

    public static void Warning(string message) => Log(LogLevel.Warning, message);
    public static void Info(string message) => Log(LogLevel.Info, message);
}
