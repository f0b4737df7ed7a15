using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FineTuning.Tests;
using static FineTuning.NotebookRunner.Tests.InlineNotebook;

namespace FineTuning.NotebookRunner.Tests;

/// <summary>
/// Every lesson in notebooks/ executed by the runner's program, on the CPU with CI's knobs (the tiny fixture model,
/// the shared MRPC files, 64 training and 32 validation pairs, 2 epochs): no cell may fail, and the outputs the
/// lessons promise must be there.
/// </summary>
public class LessonTests
{
    static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Helpers.sln"))) return dir.FullName;
        throw new InvalidOperationException("repository root not found");
    }

    public static TheoryData<string> Lessons => new(Directory.GetFiles(Path.Combine(FindRepoRoot(), "notebooks"), "*.ipynb")
        .Select(Path.GetFileName).Order(StringComparer.Ordinal)!);

    sealed record Run(int ExitCode, string Log, string OutputDirectory);

    /// <summary>One runner process for all lessons (one TorchSharp and compiler start-up), shared by the tests.</summary>
    static readonly Lazy<Run> AllLessons = new(() =>
    {
        var output = Path.Combine(Path.GetTempPath(), $"finetuning-lessons-{Environment.ProcessId}");
        var root = FindRepoRoot();
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;   // bin/<configuration>/net10.0
        var runner = Path.Combine(root, "src", "NotebookRunner", "bin", configuration, "net10.0", "FineTuning.NotebookRunner.dll");
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = root, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { runner, "notebooks", "--output", output }) start.ArgumentList.Add(arg);
        start.Environment["FT_MODEL"] = SharedFixtures.Path("fixtures", "pretrained-tiny");
        start.Environment["FT_DATA_DIR"] = SharedFixtures.Path("assets", "mrpc");
        start.Environment["FT_MAX_TRAIN_SAMPLES"] = "64";
        start.Environment["FT_MAX_EVAL_SAMPLES"] = "32";
        start.Environment["FT_EPOCHS"] = "2";
        start.Environment["FT_DEVICE"] = "cpu";
        start.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"the notebook runner did not finish in 10 minutes:\n{stdout}");
        }
        return new Run(process.ExitCode, stdout + stderr.Result, output);
    });

    static JsonObject Executed(string lesson)
    {
        var run = AllLessons.Value;
        var path = Path.Combine(run.OutputDirectory, lesson);
        Assert.True(File.Exists(path), $"{lesson} was not executed. Runner log:\n{run.Log}");
        return (JsonObject)JsonNode.Parse(File.ReadAllText(path))!;
    }

    static string AllOutputs(JsonObject notebook) => string.Join("\n", CodeCells(notebook).Select(c => OutputText(c!)));

    static int Charts(JsonObject notebook) => Regex.Matches(AllOutputs(notebook), "Plotly.newPlot").Count;

    [FixtureTheory("fixtures", "pretrained-tiny")]
    [MemberData(nameof(Lessons))]
    public void Every_Cell_Of_The_Lesson_Runs(string lesson)
    {
        var executed = Executed(lesson);
        var cells = CodeCells(executed);
        var errors = cells.SelectMany(c => c!["outputs"]!.AsArray()).Where(o => (string?)o!["output_type"] == "error").ToList();
        Assert.True(errors.Count == 0, $"{lesson}: {string.Join("\n", errors.Select(e => (string?)e!["evalue"]))}");
        Assert.All(cells, c => Assert.NotNull(c!["execution_count"]));
        Assert.DoesNotContain($"FAILED: notebooks/{lesson}", AllLessons.Value.Log);
        Assert.True(File.Exists(Path.Combine(AllLessons.Value.OutputDirectory, Path.ChangeExtension(lesson, ".html"))));
    }

    [FixtureFact("fixtures", "pretrained-tiny")]
    public void The_Runner_Reports_Every_Lesson_Passed()
    {
        var run = AllLessons.Value;
        Assert.True(run.ExitCode == 0, run.Log);
        var count = Directory.GetFiles(Path.Combine(FindRepoRoot(), "notebooks"), "*.ipynb").Length;
        Assert.Contains($"{count} notebooks: {count} passed, 0 failed", run.Log);
    }

    [FixtureFact("fixtures", "pretrained-tiny")]
    public void Head_Swap_Shows_Hugging_Faces_Warning_And_The_Table()
    {
        var outputs = AllOutputs(Executed("03-head-swap.ipynb"));
        Assert.Contains("Some weights of the model checkpoint at", outputs);
        Assert.Contains("were not used when initializing BertForSequenceClassification", outputs);
        Assert.Contains("You should probably TRAIN this model on a down-stream task", outputs);
        Assert.Contains("<td>dropped</td>", outputs);
        Assert.Contains("<code>classifier.weight</code>", outputs);
        Assert.Contains("classifier (the new head): 258", outputs);   // 128 × 2 + 2 for the tiny model
    }

    [FixtureFact("fixtures", "pretrained-tiny")]
    public void Padding_Lesson_Measures_Tokens_And_Time_Both_Ways()
    {
        var executed = Executed("02-tokenize-and-pad.ipynb");
        var outputs = AllOutputs(executed);
        Assert.Matches(@"dynamic padding: tokens: \d+", outputs);
        Assert.Matches(@"max_length padding: tokens: \d+", outputs);
        Assert.Matches(@"dynamic padding: seconds: [\d.]+", outputs);
        Assert.Matches(@"max_length padding: seconds: [\d.]+", outputs);
        Assert.Contains("fewer with dynamic padding", outputs);   // PaddingStats over the epoch
        Assert.Contains("[50, 59, 47, 67, 59, 50, 62, 32]", outputs);   // the first eight MRPC lengths, as in the course
        Assert.True(Charts(executed) >= 1);
    }

    [FixtureFact("fixtures", "pretrained-tiny")]
    public void Evaluate_Lesson_Shows_The_Metrics_Dictionary_And_Its_Charts()
    {
        var executed = Executed("06-evaluate.ipynb");
        var outputs = AllOutputs(executed);
        Assert.Matches(@"eval_accuracy: [\d.]+", outputs);
        Assert.Matches(@"eval_f1: [\d.]+", outputs);
        Assert.Contains("actual \\ predicted", outputs);   // the confusion matrix
        Assert.Contains("misclassified", outputs);
        Assert.True(Charts(executed) >= 2, "confusion matrix and curves");
        Assert.Contains("Validation Loss", outputs);   // the progress table's evaluation columns
    }

    [FixtureTheory("fixtures", "pretrained-tiny")]
    [InlineData("01-load-data.ipynb", 1)]
    [InlineData("04-training-arguments.ipynb", 1)]
    [InlineData("05-train.ipynb", 1)]
    [InlineData("07-careful-hyperparameters.ipynb", 2)]
    public void Lessons_Draw_Their_Charts(string lesson, int charts)
    {
        Assert.True(Charts(Executed(lesson)) >= charts, $"{lesson}: fewer than {charts} charts");
    }

    [FixtureFact("fixtures", "pretrained-tiny")]
    public void Training_Lessons_Show_The_Live_Progress_Table()
    {
        foreach (var lesson in new[] { "05-train.ipynb", "06-evaluate.ipynb", "07-careful-hyperparameters.ipynb" })
        {
            var outputs = AllOutputs(Executed(lesson));
            Assert.Contains("<progress value='16' max='16'", outputs);   // the final state of the bar: 2 epochs × 8 steps
            Assert.Contains("Training Loss", outputs);
        }
    }
}
