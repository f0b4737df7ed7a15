// Runs the lessons headlessly:  dotnet run --project src/NotebookRunner -- notebooks/*.ipynb [--output DIR] [--no-html]
// Each notebook's C# cells run in order in one session (as the Polyglot kernel runs them); the executed notebook and
// an HTML export go to DIR (default artifacts/notebooks). Exit code 1 when a cell fails, naming notebook, cell and error.
using System.Runtime.InteropServices;
using FineTuning.Native;
using FineTuning.NotebookRunner;

const string Usage = """
    usage: dotnet run --project src/NotebookRunner -- <notebook.ipynb | folder>... [--output DIR] [--no-html]
      --output DIR   where the executed notebooks (.ipynb) and HTML exports go (default: artifacts/notebooks)
      --no-html      write the executed notebooks only
    Lessons read FT_MODEL, FT_DATA_DIR, FT_MAX_STEPS, ... (see notebooks/README.md).
    """;

var notebooks = new List<string>();
var output = Path.Combine("artifacts", "notebooks");
var html = true;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "-h" or "--help":
            Console.WriteLine(Usage);
            return 0;
        case "--output" or "-o" when i + 1 < args.Length:
            output = args[++i];
            break;
        case "--no-html":
            html = false;
            break;
        case var a when a.StartsWith('-'):
            Console.Error.WriteLine($"unknown option {a}\n{Usage}");
            return 2;
        case var path when Directory.Exists(path):
            notebooks.AddRange(Directory.GetFiles(path, "*.ipynb").Order(StringComparer.Ordinal));
            break;
        case var pattern when Path.GetFileName(pattern).Contains('*'):
            // Shells without glob expansion (Windows) pass the pattern through.
            var folder = Path.GetDirectoryName(pattern) is { Length: > 0 } d ? d : ".";
            notebooks.AddRange(Directory.Exists(folder) ? Directory.GetFiles(folder, Path.GetFileName(pattern)).Order(StringComparer.Ordinal) : []);
            break;
        case var file when File.Exists(file):
            notebooks.Add(file);
            break;
        case var missing:
            Console.Error.WriteLine($"no such notebook or folder: {missing}");
            return 2;
    }
}
if (notebooks.Count == 0)
{
    Console.Error.WriteLine($"no notebooks given\n{Usage}");
    return 2;
}

// libtorch's OpenMP threads spin-wait unless told otherwise, which starves small machines; libgomp reads this when
// libtorch loads it, which is later than now, so the process can still set it for itself.
if (OperatingSystem.IsLinux() && Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is null)
    Libc.setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
TorchSharpNative.Load();

using var console = new ConsoleCapture();
var log = console.Out;
var catalog = PackageCatalog.ForCurrentProcess();
var results = new List<NotebookResult>();
foreach (var notebook in notebooks)
{
    log.WriteLine($"{notebook}");
    NotebookResult result;
    try
    {
        result = await NotebookExecutor.RunAsync(notebook, output, catalog, console, log, html);
    }
    catch (Exception e) when (e is NotebookFormatException or IOException or ArgumentException or UnauthorizedAccessException)
    {
        log.WriteLine($"  cannot run it: {e.Message}");
        return 1;
    }
    results.Add(result);
    foreach (var note in result.Notes) log.WriteLine($"  note: {note}");
    log.WriteLine(result.Succeeded
        ? $"  {result.CellsRun} cells, 0 failed, {result.Elapsed.TotalSeconds:F1}s -> {result.ExecutedPath}"
        : $"  FAILED: {result.Failure!.Message}\n    {string.Join("\n    ", result.Failure.Details.Take(12))}\n  -> {result.ExecutedPath}");
}

var failed = results.Count(r => !r.Succeeded);
log.WriteLine($"{results.Count} notebooks: {results.Count - failed} passed, {failed} failed ({results.Sum(r => r.CellsRun)} cells run)");
return failed == 0 ? 0 : 1;

static class Libc
{
    [DllImport("libc")]
    internal static extern int setenv(string name, string value, int overwrite);
}
