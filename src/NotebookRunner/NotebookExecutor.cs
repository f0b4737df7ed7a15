using System.Diagnostics;

namespace FineTuning.NotebookRunner;

/// <summary>How one notebook run went.</summary>
/// <param name="NotebookPath">The notebook that was run.</param>
/// <param name="ExecutedPath">The executed copy (outputs and execution counts filled in), written even when a cell failed.</param>
/// <param name="HtmlPath">The HTML export, or null when not asked for.</param>
/// <param name="CellsRun">C# cells executed (including a failed one).</param>
/// <param name="Failure">The failed cell's error (its message names notebook, cell and error), or null.</param>
/// <param name="Notes">Directives accepted or skipped, each naming its cell.</param>
public sealed record NotebookResult(string NotebookPath, string ExecutedPath, string? HtmlPath, int CellsRun,
                                    CellFailedException? Failure, IReadOnlyList<string> Notes, TimeSpan Elapsed)
{
    public bool Succeeded => Failure is null;
}

/// <summary>Runs a notebook file top to bottom in a fresh <see cref="NotebookKernel"/> and writes the results.</summary>
public static class NotebookExecutor
{
    /// <summary>
    /// Runs <paramref name="notebookPath"/>'s C# cells in order, with the notebook's folder as the current directory
    /// (as the kernel), stopping at the first failing cell; writes <c>&lt;name&gt;.ipynb</c> (and <c>&lt;name&gt;.html</c>)
    /// into <paramref name="outputDirectory"/>. Cells for other kernels are skipped with a note.
    /// </summary>
    /// <param name="log">Progress lines (one per cell); null for none.</param>
    public static async Task<NotebookResult> RunAsync(string notebookPath, string outputDirectory, PackageCatalog catalog,
                                                      ConsoleCapture console, TextWriter? log = null, bool html = true)
    {
        var watch = Stopwatch.StartNew();
        var notebook = Notebook.Load(notebookPath);
        var name = Path.GetFileNameWithoutExtension(notebookPath);
        Directory.CreateDirectory(outputDirectory);
        var executedPath = Path.GetFullPath(Path.Combine(outputDirectory, name + ".ipynb"));
        if (executedPath == Path.GetFullPath(notebookPath))
            throw new ArgumentException($"the output folder {outputDirectory} holds the notebook itself; choose another (--output)", nameof(outputDirectory));
        var htmlPath = html ? Path.Combine(outputDirectory, name + ".html") : null;

        var notebookDirectory = Path.GetDirectoryName(Path.GetFullPath(notebookPath))!;
        var kernel = new NotebookKernel(catalog, console, notebookDirectory);
        FineTuning.Charts.PlotlyJs.Reset();   // a new notebook (a new kernel in VS Code): its first chart carries plotly.js
        var notes = new List<string>();
        CellFailedException? failure = null;
        int run = 0;
        var code = notebook.Cells.Where(c => c.CellType == "code").ToList();
        var previousDirectory = Environment.CurrentDirectory;
        Environment.CurrentDirectory = notebookDirectory;
        try
        {
            foreach (var cell in code)
            {
                if (cell.Kernel != "csharp")
                {
                    notes.Add($"{notebookPath}, cell {cell.Number}: a {cell.Kernel} cell; skipped (the runner runs C#)");
                    continue;
                }
                var cellWatch = Stopwatch.StartNew();
                run++;
                try
                {
                    await kernel.ExecuteAsync(cell);
                    log?.WriteLine($"  cell {cell.Number,3}/{notebook.Cells.Count}  ok    {cellWatch.Elapsed.TotalSeconds,6:F1}s  {Shorten(cell.FirstLine)}");
                }
                catch (CellFailedException e)
                {
                    failure = new CellFailedException(e.ErrorName, $"{notebookPath}, {e.Message}", e.Details);
                    log?.WriteLine($"  cell {cell.Number,3}/{notebook.Cells.Count}  FAILED {cellWatch.Elapsed.TotalSeconds,5:F1}s  {Shorten(cell.FirstLine)}");
                    break;
                }
            }
        }
        finally
        {
            Environment.CurrentDirectory = previousDirectory;
            notes.AddRange(kernel.Notes.Select(n => $"{notebookPath}, {n}"));
        }

        notebook.Save(executedPath);
        if (htmlPath is not null) AtomicFile.WriteAllText(htmlPath, HtmlExport.Render(notebook));
        return new NotebookResult(notebookPath, executedPath, htmlPath, run, failure, notes, watch.Elapsed);
    }

    static string Shorten(string line) => line.Length <= 70 ? line : line[..67] + "...";
}
