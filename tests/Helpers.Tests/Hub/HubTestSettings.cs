using FineTuning.Hub;

namespace FineTuning.Tests.Hub;

/// <summary>Settings for one test: the stand-in's address, a cache in the test's own temp folder, no waiting between
/// retries, short timeouts, no progress display.</summary>
internal static class HubTestSettings
{
    public static HubSettings For(StandInHub? hub, TempFolder tmp, IProgress<DownloadProgress>? progress = null) => For(hub, tmp.Path, progress);

    /// <summary>The same, with the cache in <c>{folder}/hub</c>.</summary>
    public static HubSettings For(StandInHub? hub, string folder, IProgress<DownloadProgress>? progress = null) => new()
    {
        Endpoint = hub?.Endpoint ?? "http://127.0.0.1:9",
        HubCache = Path.Combine(folder, "hub"),
        EtagTimeout = TimeSpan.FromSeconds(5),
        DownloadTimeout = TimeSpan.FromSeconds(5),
        Backoff = _ => TimeSpan.Zero,
        LockTimeout = TimeSpan.FromSeconds(30),
        Progress = progress,
    };

    /// <summary>Captures the library's log (every level) while <paramref name="action"/> runs.</summary>
    public static string CaptureLog(Action action)
    {
        var log = new StringWriter();
        var (writer, verbosity) = (Logging.Writer, Logging.Verbosity);
        (Logging.Writer, Logging.Verbosity) = (log, LogLevel.Debug);
        try
        {
            action();
        }
        finally
        {
            (Logging.Writer, Logging.Verbosity) = (writer, verbosity);
        }
        return log.ToString();
    }
}

/// <summary>Records the progress reports.</summary>
internal sealed class RecordingProgress : IProgress<DownloadProgress>
{
    public List<DownloadProgress> Reports { get; } = [];
    public void Report(DownloadProgress value)
    {
        lock (Reports) Reports.Add(value);
    }
}
