namespace FineTuning.Hub;

/// <summary>
/// Download progress on a console, as the tqdm bars huggingface_hub prints:
/// <c>model.safetensors:  45%|#########-----------| 15.1M/33.5M [00:02&lt;00:03, 6.20MB/s]</c>.
/// </summary>
/// <remarks>
/// As the Trainer's <c>ProgressCallback</c>: on an interactive console one line is redrawn in place with '\r' and
/// left on screen when the file is complete; when the output is redirected (a file, a CI log, a notebook) a line is
/// written once bytes arrive, each time the download passes a multiple of <c>redirectedPercentStep</c> percent, and
/// at the end (a small file that completes before its first progress report gets that last line only).
/// </remarks>
public sealed class ConsoleDownloadProgress : IProgress<DownloadProgress>
{
    readonly TextWriter writer;
    readonly bool interactive;
    readonly int percentStep;
    readonly object gate = new();

    string? currentFile;
    int lastBucket = -1;
    int lineLength;

    /// <summary>Creates the display.</summary>
    /// <param name="writer">Where the lines go; default <see cref="Console.Error"/> (where tqdm writes).</param>
    /// <param name="interactive">Whether to redraw one line in place; default: when <paramref name="writer"/> is the
    /// console's error or output stream and that stream is not redirected.</param>
    /// <param name="redirectedPercentStep">With redirected output, a line every this many percent; default 25.</param>
    public ConsoleDownloadProgress(TextWriter? writer = null, bool? interactive = null, int redirectedPercentStep = 25)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(redirectedPercentStep, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(redirectedPercentStep, 100);
        this.writer = writer ?? Console.Error;
        this.interactive = interactive ?? ((ReferenceEquals(this.writer, Console.Error) && !Console.IsErrorRedirected)
                                           || (ReferenceEquals(this.writer, Console.Out) && !Console.IsOutputRedirected));
        percentStep = redirectedPercentStep;
    }

    /// <summary>Shows one report.</summary>
    public void Report(DownloadProgress value)
    {
        ArgumentNullException.ThrowIfNull(value);
        lock (gate)
        {
            bool newFile = currentFile != value.FileName;
            if (newFile)
            {
                if (interactive && lineLength > 0) { writer.WriteLine(); lineLength = 0; }
                currentFile = value.FileName;
                lastBucket = -1;
            }
            var line = value.ToProgressLine();
            if (interactive)
            {
                writer.Write('\r');
                writer.Write(line);
                if (lineLength > line.Length) writer.Write(new string(' ', lineLength - line.Length));
                lineLength = line.Length;
                if (value.IsComplete)
                {
                    writer.WriteLine();
                    lineLength = 0;
                    currentFile = null;
                }
                writer.Flush();
                return;
            }
            int bucket = value.Fraction is { } f ? (int)(f * 100) / percentStep : 0;
            if (value.IsComplete)
            {
                writer.WriteLine(line);
                currentFile = null;
            }
            else if (value.BytesDownloaded > value.ResumedFrom && bucket > lastBucket)
            {
                writer.WriteLine(line);
                lastBucket = bucket;
            }
            writer.Flush();
        }
    }
}
