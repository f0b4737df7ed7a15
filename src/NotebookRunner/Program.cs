// Runs the lessons headlessly in the real .NET Interactive kernel (the one VS Code runs):
//   dotnet run --project src/NotebookRunner -- notebooks/*.ipynb [--output DIR] [--no-html] [--cell-timeout SECONDS] [--keep-going]
// One kernel per notebook (`dotnet dotnet-interactive [vscode] stdio --working-dir <the notebook's folder>`, the tool
// pinned in .config/dotnet-tools.json), each code cell sent as a SubmitCode command. The executed notebook and an HTML
// export go to DIR (default artifacts/notebooks). Exit code 1 when a cell fails, naming notebook, cell and error;
// 2 for bad arguments or a kernel that cannot be restored.
using System.Globalization;
using FineTuning.NotebookRunner;

const string Usage = """
    usage: dotnet run --project src/NotebookRunner -- <notebook.ipynb | folder>... [--output DIR] [--no-html] [--cell-timeout SECONDS] [--keep-going]
      --output DIR            where the executed notebooks (.ipynb) and HTML exports go (default: artifacts/notebooks)
      --no-html               write the executed notebooks only
      --cell-timeout SECONDS  stop a notebook whose cell runs longer (default: 7200)
      --keep-going            run the cells after a failing one too (default: stop there, as VS Code's Run All)
    The kernel is .NET Interactive, pinned in .config/dotnet-tools.json (restored with `dotnet tool restore` on first use).
    Lessons read FT_MODEL, FT_DATA_DIR, FT_MAX_STEPS, ... (see notebooks/README.md).
    """;

var notebooks = new List<string>();
var output = Path.Combine("artifacts", "notebooks");
var options = RunOptions.Default;
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
        case "--keep-going":
            options = options with { KeepGoing = true };
            break;
        case "--no-html":
            options = options with { Html = false };
            break;
        case "--cell-timeout" when i + 1 < args.Length:
            if (!double.TryParse(args[++i], NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || !(seconds > 0))
            {
                Console.Error.WriteLine($"--cell-timeout takes a positive number of seconds, not {args[i]}");
                return 2;
            }
            options = options with { CellTimeout = TimeSpan.FromSeconds(seconds) };
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

KernelTool tool;
try
{
    tool = KernelTool.Find();
}
catch (KernelToolException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}
if (!tool.IsRestored && !tool.Restore(Console.Out))
{
    Console.Error.WriteLine(tool.NotRestoredMessage);
    return 2;
}

var log = Console.Out;
foreach (var line in RunPlan.Describe(tool, notebooks, Environment.GetEnvironmentVariable)) log.WriteLine(line);
var results = new List<NotebookResult>();
foreach (var notebook in notebooks)
{
    log.WriteLine($"{notebook}");
    NotebookResult result;
    try
    {
        result = await NotebookExecutor.RunAsync(notebook, output, tool, options, log);
    }
    catch (Exception e) when (e is NotebookFormatException or IOException or ArgumentException or UnauthorizedAccessException or KernelToolException)
    {
        log.WriteLine($"  cannot run it: {e.Message}");
        return e is KernelToolException ? 2 : 1;
    }
    results.Add(result);
    if (result.Succeeded)
        log.WriteLine($"  {result.CellsRun} cells, 0 failed, {result.Elapsed.TotalSeconds:F1}s -> {result.ExecutedPath}");
    else
    {
        foreach (var failure in result.Failures)
            log.WriteLine($"  FAILED: {failure.Message}\n    {string.Join("\n    ", failure.Details.Skip(1).Take(12))}");
        log.WriteLine($"  {result.CellsRun} cells, {result.Failures.Count} failed, {result.Elapsed.TotalSeconds:F1}s -> {result.ExecutedPath}");
    }
}

var failed = results.Count(r => !r.Succeeded);
log.WriteLine($"{results.Count} notebooks: {results.Count - failed} passed, {failed} failed ({results.Sum(r => r.CellsRun)} cells run, " +
              $"{results.Sum(r => r.Elapsed.TotalSeconds) / 60:F1} min in the kernel)");
return failed == 0 ? 0 : 1;
