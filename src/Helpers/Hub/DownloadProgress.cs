namespace FineTuning.Hub;

/// <summary>
/// Where one file's download stands, reported through <see cref="IProgress{T}"/> (<see cref="HubSettings.Progress"/>):
/// at the start, about every 0.1 s while bytes arrive, and once at the end. A display (<see cref="ConsoleDownloadProgress"/>,
/// <see cref="NotebookDownloadProgress"/>, or your own) shows it; downloads of different files are reported one after
/// the other.
/// </summary>
public sealed record DownloadProgress
{
    /// <summary>The file's path in the repository, e.g. <c>model.safetensors</c> or <c>mrpc/train-00000-of-00001.parquet</c>.</summary>
    public required string FileName { get; init; }

    /// <summary>The repository, e.g. <c>google-bert/bert-base-uncased</c>.</summary>
    public required string RepoId { get; init; }

    /// <summary>Bytes of the file on disk so far, including those of an earlier, interrupted attempt.</summary>
    public required long BytesDownloaded { get; init; }

    /// <summary>The file's size, when the server says it.</summary>
    public long? TotalBytes { get; init; }

    /// <summary>Bytes that were already there when this download started (a resumed download).</summary>
    public long ResumedFrom { get; init; }

    /// <summary>Time since this download started.</summary>
    public TimeSpan Elapsed { get; init; }

    /// <summary>True in the last report, once the file is complete (before it is checked and moved into the cache).</summary>
    public bool IsComplete { get; init; }

    /// <summary>Average speed of this download (resumed bytes not counted), or null before the first bytes.</summary>
    public double? BytesPerSecond =>
        Elapsed > TimeSpan.Zero && BytesDownloaded > ResumedFrom ? (BytesDownloaded - ResumedFrom) / Elapsed.TotalSeconds : null;

    /// <summary>Time left at the average speed, or null when the size or the speed is unknown.</summary>
    public TimeSpan? Eta =>
        TotalBytes is { } total && BytesPerSecond is { } rate
            ? TimeSpan.FromSeconds(Math.Max(0, total - BytesDownloaded) / rate)
            : null;

    /// <summary>The fraction done, 0 to 1, or null when the size is unknown.</summary>
    public double? Fraction => TotalBytes is { } t && t > 0 ? Math.Clamp((double)BytesDownloaded / t, 0, 1) : null;

    /// <summary>
    /// The tqdm line huggingface_hub shows, e.g. <c>model.safetensors:  45%|#########-----------| 15.1M/33.5M [00:02&lt;00:03, 6.20MB/s]</c>:
    /// sizes in tqdm's <c>format_sizeof</c> (3 significant digits, k/M/G by 1000), elapsed &lt; time left, speed.
    /// </summary>
    public string ToProgressLine(int barWidth = 20)
    {
        var elapsed = PythonRepr.Interval(Elapsed.TotalSeconds);
        var eta = Eta is { } e ? PythonRepr.Interval(e.TotalSeconds) : "?";
        var rate = BytesPerSecond is { } r ? FormatSize(r) + "B/s" : "?B/s";
        if (Fraction is not { } f)
            return $"{FileName}: {FormatSize(BytesDownloaded)}B [{elapsed}, {rate}]";
        var filled = (int)Math.Clamp(Math.Floor(f * barWidth), 0, barWidth);
        var percent = (int)Math.Floor(f * 100);
        return $"{FileName}: {percent,3}%|{new string('#', filled)}{new string('-', barWidth - filled)}| "
             + $"{FormatSize(BytesDownloaded)}/{FormatSize(TotalBytes!.Value)} [{elapsed}<{eta}, {rate}]";
    }

    /// <summary>tqdm's <c>format_sizeof(num, divisor=1000)</c>: 589 → "589", 33492760 → "33.5M", 1.234e9 → "1.23G".</summary>
    public static string FormatSize(double num)
    {
        foreach (var unit in new[] { "", "k", "M", "G", "T", "P", "E", "Z" })
        {
            if (Math.Abs(num) < 999.5)
            {
                if (Math.Abs(num) < 99.95)
                    return (Math.Abs(num) < 9.995 ? PythonRepr.Fixed(num, 2) : PythonRepr.Fixed(num, 1)) + unit;
                return PythonRepr.Fixed(num, 0) + unit;
            }
            num /= 1000;
        }
        return PythonRepr.Fixed(num, 1) + "Y";
    }
}
