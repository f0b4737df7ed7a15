using FineTuning.Tests;
using System.Text.Json.Nodes;
using static FineTuning.NotebookRunner.Tests.InlineNotebook;

namespace FineTuning.NotebookRunner.Tests;

/// <summary>The runner against the real .NET Interactive kernel (the tool pinned in .config/dotnet-tools.json): what
/// it records of the kernel's events, how it reports failures, timeouts and a dead kernel.</summary>
public class NotebookExecutorTests
{
    static JsonArray Outputs(JsonObject executed, int codeCell) => CodeCells(executed)[codeCell]!["outputs"]!.AsArray();

    [Fact]
    public async Task Cells_Share_State_And_Their_Streams_Values_And_Displays_Become_Jupyter_Outputs()
    {
        using var folder = new TempFolder();
        var path = Write(folder, "state.ipynb",
            "md:# State\nSome *markdown*.",
            "var x = 40;\nint Twice(int v) => 2 * v;\nConsole.WriteLine(\"one\");\nConsole.Write(\"two\\n\");\nConsole.Error.WriteLine(\"a warning\");",
            "x + 2",
            "Twice(x);",                                   // a semicolon: no value shown
            // A handle that is only updated (the lessons' LiveHtmlOutput): one output, replaced in place.
            "var live = new Microsoft.DotNet.Interactive.Formatting.DisplayedValue(null, new[] { new Microsoft.DotNet.Interactive.Formatting.FormattedValue(\"text/html\", \"\") });\n" +
            "for (var i = 1; i <= 4; i++) live.Update(HTML($\"<b>{25 * i}%</b>\"));",
            "display(HTML(\"<i>shown</i>\"));");
        var (result, executed) = await Run(folder, path);

        Assert.True(result.Succeeded, result.Failure?.Message);
        Assert.Equal(5, result.CellsRun);
        Assert.Equal([1, 2, 3, 4, 5], CodeCells(executed).Select(c => (int)c!["execution_count"]!));
        var streams = Outputs(executed, 0);
        Assert.Equal(["stdout", "stderr"], streams.Select(o => (string?)o!["name"]));
        Assert.Equal("one\ntwo\n", (string?)streams[0]!["text"]);
        Assert.Equal("a warning\n", (string?)streams[1]!["text"]);
        var value = Outputs(executed, 1).Single()!;
        Assert.Equal("execute_result", (string?)value["output_type"]);
        Assert.Equal(2, (int)value["execution_count"]!);
        Assert.Contains("<pre>42</pre>", OutputText(CodeCells(executed)[1]!));   // the kernel's own HTML formatting
        Assert.Empty(Outputs(executed, 2));
        var live = Outputs(executed, 3).Single()!;
        Assert.Equal("display_data", (string?)live["output_type"]);
        Assert.Equal("<b>100%</b>", (string?)live["data"]!["text/html"]);
        Assert.Equal("<i>shown</i>", (string?)Outputs(executed, 4).Single()!["data"]!["text/html"]);

        var html = File.ReadAllText(result.HtmlPath!);
        Assert.Contains("<h1", html);
        Assert.Contains("<em>markdown</em>", html);
        Assert.Contains("<b>100%</b>", html);
        Assert.DoesNotContain("<b>25%</b>", html);
        Assert.Empty(Directory.GetFiles(folder.File("out"), "*.tmp"));
    }

    [Fact]
    public async Task A_Throwing_Cell_Fails_The_Run_Naming_Notebook_Cell_And_Error_And_Stops_There()
    {
        using var folder = new TempFolder();
        var path = Write(folder, "throws.ipynb",
            "md:# Fails",
            "var ok = 1;",
            "throw new InvalidOperationException(\"the data folder is empty\");",
            "ok = 2;");
        var (result, executed) = await Run(folder, path);

        Assert.False(result.Succeeded);
        Assert.Equal(2, result.CellsRun);
        Assert.Contains("throws.ipynb", result.Failure!.Message);
        Assert.Contains("cell 3", result.Failure.Message);
        Assert.Contains("InvalidOperationException: the data folder is empty", result.Failure.Message);
        var error = Outputs(executed, 1).Single()!;
        Assert.Equal("error", (string?)error["output_type"]);
        Assert.Equal("InvalidOperationException", (string?)error["ename"]);
        Assert.Null(CodeCells(executed)[2]!["execution_count"]);   // never ran
        Assert.True(File.Exists(result.ExecutedPath));
    }

    [Fact]
    public async Task A_Compilation_Error_Names_The_Cell_And_The_Line_And_Keep_Going_Runs_The_Rest()
    {
        using var folder = new TempFolder();
        var path = Write(folder, "typo.ipynb", "var a = 1;", "var b = 2;\nvar c = a +;", "a + 1");
        var (result, executed) = await Run(folder, path, RunOptions.Default with { KeepGoing = true });

        var failure = Assert.Single(result.Failures);
        Assert.Equal("CompilationError", failure.ErrorName);
        Assert.Contains("cell 2", failure.Message);
        Assert.Contains("(2,", failure.Message);   // line 2 of the cell, from the kernel's diagnostics
        Assert.Equal(3, result.CellsRun);
        Assert.Contains("<pre>2</pre>", OutputText(CodeCells(executed)[2]!));
    }

    [Fact]
    public async Task A_Cell_That_Runs_Too_Long_Stops_The_Kernel_And_Says_So()
    {
        using var folder = new TempFolder();
        var path = Write(folder, "slow.ipynb", "System.Threading.Thread.Sleep(120_000);", "1");
        var (result, executed) = await Run(folder, path, RunOptions.Default with { CellTimeout = TimeSpan.FromSeconds(3), KeepGoing = true });

        Assert.Equal("KernelLost", result.Failure!.ErrorName);
        Assert.Contains("did not finish in 3 s", result.Failure.Message);
        Assert.Equal(1, result.CellsRun);   // no kernel left for the next cell
        Assert.Equal("error", (string?)Outputs(executed, 0).Single()!["output_type"]);
    }

    [Fact]
    public async Task A_Kernel_That_Dies_Is_Reported_With_Its_Exit_Code_And_Last_Words()
    {
        using var folder = new TempFolder();
        var path = Write(folder, "abort.ipynb", "Environment.FailFast(\"native abort stand-in\");");
        var (result, _) = await Run(folder, path);

        Assert.Equal("KernelLost", result.Failure!.ErrorName);
        Assert.Matches("the kernel process exited with code [1-9]", result.Failure.Message);
        var details = string.Join("\n", result.Failure.Details);
        Assert.Contains("native abort stand-in", details);   // the kernel's last stderr lines: why it died
    }

    [Fact]
    public void A_Kernel_That_Is_Not_Restored_Says_Which_Command_Restores_It()
    {
        using var folder = new TempFolder();
        var tool = KernelTool.Find(AppContext.BaseDirectory) with { PackageFolder = folder.File("not-restored") };
        var error = Assert.Throws<KernelToolException>(() => KernelSession.StartAsync(tool, folder.Path, TimeSpan.FromSeconds(5)).GetAwaiter().GetResult());
        Assert.Contains("dotnet tool restore", error.Message);
        Assert.Contains(tool.Version, error.Message);
        Assert.Contains("dotnet-tools.json", error.Message);
    }

    [Fact]
    public void Restore_Runs_Dotnet_Tool_Restore_In_The_Repository_And_Says_So()
    {
        // The Quick start has no separate `dotnet tool restore`: the runner runs it when the kernel is missing. Here the
        // tool is restored already (CI restores it), so this checks the command runs in the right folder and succeeds.
        var tool = KernelTool.Find(AppContext.BaseDirectory);
        var log = new StringWriter();
        Assert.True(tool.Restore(log), log.ToString());
        Assert.Contains("dotnet tool restore", log.ToString());
        Assert.Contains(tool.RepositoryRoot, log.ToString());
    }

    [Fact]
    public void The_Manifest_Pins_The_Kernel_And_A_Bad_One_Is_Named()
    {
        var tool = KernelTool.Find(AppContext.BaseDirectory);
        Assert.Equal("1.0.712001", tool.Version);
        Assert.True(tool.IsRestored, tool.NotRestoredMessage);

        using var folder = new TempFolder();
        folder.Write(".config/dotnet-tools.json", """{ "version": 1, "isRoot": true, "tools": { } }""");
        var error = Assert.Throws<KernelToolException>(() => KernelTool.Find(folder.Path));
        Assert.Contains(Path.Combine(folder.Path, ".config", "dotnet-tools.json"), error.Message);
        Assert.Contains("microsoft.dotnet-interactive", error.Message);
    }
}
