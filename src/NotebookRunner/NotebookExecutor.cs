using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace FineTuning.NotebookRunner;

/// <summary>How one notebook run went.</summary>
/// <param name="NotebookPath">The notebook that was run.</param>
/// <param name="ExecutedPath">The executed copy (outputs and execution counts filled in), written even when a cell failed.</param>
/// <param name="HtmlPath">The HTML export, or null when not asked for.</param>
/// <param name="CellsRun">Code cells sent to the kernel (including a failed one).</param>
/// <param name="Failures">Each failed cell's error (its message names notebook, cell and error): one at most unless
/// <see cref="RunOptions.KeepGoing"/>.</param>
/// <param name="CellTimes">Seconds per code cell run, by cell number.</param>
public sealed record NotebookResult(string NotebookPath, string ExecutedPath, string? HtmlPath, int CellsRun,
                                    IReadOnlyList<CellFailedException> Failures, TimeSpan Elapsed, IReadOnlyDictionary<int, double> CellTimes)
{
    public bool Succeeded => Failures.Count == 0;
    /// <summary>The first failed cell's error, or null.</summary>
    public CellFailedException? Failure => Failures.Count > 0 ? Failures[0] : null;
}

/// <summary>What the runner sets for each notebook.</summary>
/// <param name="CellTimeout">How long one cell may run before the kernel is stopped.</param>
/// <param name="StartTimeout">How long the kernel may take to start.</param>
/// <param name="Html">Write the HTML export too.</param>
/// <param name="KeepGoing">Run the cells after a failed one too (as running them one by one would); by default a
/// notebook stops at its first failing cell, as VS Code's "Run All" does.</param>
public sealed record RunOptions(TimeSpan CellTimeout, TimeSpan StartTimeout, bool Html = true, bool KeepGoing = false)
{
    public static RunOptions Default { get; } = new(TimeSpan.FromHours(2), TimeSpan.FromMinutes(3));
}

/// <summary>
/// Runs a notebook in a fresh <c>dotnet interactive</c> kernel (one per notebook, as VS Code), cell by cell, and
/// writes the executed notebook and its HTML export. The kernel does the work; this turns its events into Jupyter
/// outputs and stops at the first failing cell.
/// </summary>
public static partial class NotebookExecutor
{
    /// <summary>
    /// Runs <paramref name="notebookPath"/>'s code cells in order in a kernel whose working folder is the notebook's;
    /// writes <c>&lt;name&gt;.ipynb</c> (and <c>&lt;name&gt;.html</c>) into <paramref name="outputDirectory"/>.
    /// </summary>
    /// <param name="log">Progress lines (one per cell); null for none.</param>
    /// <exception cref="KernelToolException">the kernel is not restored or does not start.</exception>
    public static async Task<NotebookResult> RunAsync(string notebookPath, string outputDirectory, KernelTool tool,
                                                      RunOptions? options = null, TextWriter? log = null)
    {
        options ??= RunOptions.Default;
        var watch = Stopwatch.StartNew();
        var notebook = Notebook.Load(notebookPath);
        var name = Path.GetFileNameWithoutExtension(notebookPath);
        Directory.CreateDirectory(outputDirectory);
        var executedPath = Path.GetFullPath(Path.Combine(outputDirectory, name + ".ipynb"));
        if (executedPath == Path.GetFullPath(notebookPath))
            throw new ArgumentException($"the output folder {outputDirectory} holds the notebook itself; choose another (--output)", nameof(outputDirectory));
        var htmlPath = options.Html ? Path.Combine(outputDirectory, name + ".html") : null;

        var notebookDirectory = Path.GetDirectoryName(Path.GetFullPath(notebookPath))!;
        var failures = new List<CellFailedException>();
        var run = 0;
        var times = new Dictionary<int, double>();
        var kernel = await KernelSession.StartAsync(tool, notebookDirectory, options.StartTimeout);
        try
        {
            foreach (var cell in notebook.Cells.Where(c => c.CellType == "code"))
            {
                if (string.IsNullOrWhiteSpace(cell.Source)) continue;
                var cellWatch = Stopwatch.StartNew();
                cell.ExecutionCount = ++run;
                var recorder = new OutputRecorder(cell);
                var result = await kernel.SubmitAsync(cell.Source, cell.Kernel, recorder.Record, options.CellTimeout);
                times[cell.Number] = cellWatch.Elapsed.TotalSeconds;
                var status = result.Succeeded ? "ok    " : "FAILED";
                log?.WriteLine($"  cell {cell.Number,3}/{notebook.Cells.Count}  {status} {cellWatch.Elapsed.TotalSeconds,6:F1}s  {Shorten(cell.FirstLine)}");
                if (result.Succeeded) continue;

                var message = result.Message ?? "the cell failed";
                var errorName = recorder.CompilationErrors > 0 ? "CompilationError"
                    : result.KernelLost ? "KernelLost"
                    : ExceptionName().Match(message) is { Success: true } m ? m.Groups[1].Value : "Error";
                var details = message.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
                recorder.Fail(errorName, details[0], details);
                failures.Add(new CellFailedException(errorName,
                    $"{notebookPath}, cell {cell.Number} ({Shorten(cell.FirstLine)}): {details[0]}", details));
                if (!options.KeepGoing || result.KernelLost) break;
            }
        }
        finally
        {
            await kernel.DisposeAsync();
        }

        lock (notebook) notebook.Save(executedPath);
        if (htmlPath is not null) AtomicFile.WriteAllText(htmlPath, HtmlExport.Render(notebook));
        return new NotebookResult(notebookPath, executedPath, htmlPath, run, failures, watch.Elapsed, times);
    }

    [GeneratedRegex(@"^(?:[\w.]+\.)?(\w*(?:Exception|Error))\b")]
    private static partial Regex ExceptionName();

    static string Shorten(string line) => line.Length <= 70 ? line : line[..67] + "...";

    /// <summary>
    /// Turns one submission's events into the cell's Jupyter outputs, as VS Code turns them into cell outputs: stdout and
    /// stderr text as streams; a displayed or returned value as display_data / execute_result with every MIME type the
    /// kernel formatted; an update replaces the output with the same value id, or is appended when there is none.
    /// </summary>
    sealed class OutputRecorder(NotebookCell cell)
    {
        readonly Dictionary<string, DataOutput> byValueId = new(StringComparer.Ordinal);

        public int CompilationErrors { get; private set; }

        public void Record(KernelEvent e)
        {
            lock (cell.Outputs)
            {
                switch (e.Type)
                {
                    case "StandardOutputValueProduced":
                        AppendStream("stdout", Text(e.Body));
                        break;
                    case "StandardErrorValueProduced":
                        AppendStream("stderr", Text(e.Body));
                        break;
                    case "DisplayedValueProduced" or "DisplayedValueUpdated" or "ReturnValueProduced":
                        var data = Formatted(e.Body);
                        var valueId = (string?)e.Body["valueId"];
                        if (valueId is not null && byValueId.TryGetValue(valueId, out var shown))
                        {
                            shown.Data = data;
                            break;
                        }
                        var output = new DataOutput(e.Type == "ReturnValueProduced", data, valueId);
                        if (valueId is not null) byValueId[valueId] = output;
                        cell.Outputs.Add(output);
                        break;
                    case "ErrorProduced":
                        var message = (string?)e.Body["message"] ?? "";
                        cell.Outputs.Add(new ErrorOutput("Error", message, message.Split('\n')));
                        break;
                    case "DiagnosticsProduced":
                        if (e.Body["diagnostics"] is JsonArray diagnostics)
                            CompilationErrors += diagnostics.Count(d => (string?)d?["severity"] == "error");
                        break;
                }
            }
        }

        public void Fail(string name, string message, IReadOnlyList<string> details)
        {
            lock (cell.Outputs) cell.Outputs.Add(new ErrorOutput(name, message, details));
        }

        void AppendStream(string name, string text)
        {
            if (cell.Outputs.Count > 0 && cell.Outputs[^1] is StreamOutput last && last.Name == name)
                last.Append(text);
            else
            {
                var stream = new StreamOutput(name);
                stream.Append(text);
                cell.Outputs.Add(stream);
            }
        }

        static string Text(JsonObject body) =>
            Formatted(body).GetValueOrDefault("text/plain") ?? (string?)body["value"] ?? "";

        static Dictionary<string, string> Formatted(JsonObject body)
        {
            var data = new Dictionary<string, string>(StringComparer.Ordinal);
            if (body["formattedValues"] is JsonArray values)
                foreach (var value in values.OfType<JsonObject>())
                    if ((string?)value["mimeType"] is { } mime && value["suppressDisplay"]?.GetValue<bool>() != true)
                        data[mime] = (string?)value["value"] ?? "";
            return data;
        }
    }
}

/// <summary>A cell that failed: <see cref="Exception.Message"/> names the notebook and the cell and says why.</summary>
public sealed class CellFailedException(string errorName, string message, IReadOnlyList<string>? details = null) : Exception(message)
{
    /// <summary>CompilationError, KernelLost (timeout or the kernel process died), or the exception's type name.</summary>
    public string ErrorName { get; } = errorName;
    /// <summary>The kernel's full message (compiler messages or the stack trace), line by line.</summary>
    public IReadOnlyList<string> Details { get; } = details ?? [message];
}
