using FineTuning.Tests;
using System.Text.Json.Nodes;
using static FineTuning.NotebookRunner.Tests.InlineNotebook;

namespace FineTuning.NotebookRunner.Tests;

public class NotebookExecutorTests
{
    [Fact]
    public async Task Cells_Share_State_And_The_Last_Expression_Is_Shown()
    {
        using var folder = new TempFolder();
        var path = Write(folder, "state.ipynb",
            "md:# State",
            "var x = 40;\nint Twice(int v) => 2 * v;",
            "using System.IO;\nx + 2",
            "Path.GetFileName(\"a/b.txt\")",   // the using of the previous cell still applies
            "Twice(x);");                      // a semicolon: no value shown
        var (result, executed) = await Run(folder, path);

        Assert.True(result.Succeeded, result.Failure?.Message);
        Assert.Equal(4, result.CellsRun);
        var cells = CodeCells(executed);
        Assert.Equal([1, 2, 3, 4], cells.Select(c => (int)c!["execution_count"]!));
        Assert.Empty(cells[0]!["outputs"]!.AsArray());
        var shown = cells[1]!["outputs"]!.AsArray().Single()!;
        Assert.Equal("execute_result", (string?)shown["output_type"]);
        Assert.Equal(2, (int)shown["execution_count"]!);
        Assert.Equal("42", (string?)shown["data"]!["text/plain"]);
        Assert.Equal("b.txt", (string?)cells[2]!["outputs"]![0]!["data"]!["text/plain"]);
        Assert.Empty(cells[3]!["outputs"]!.AsArray());
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
        var cells = CodeCells(executed);
        var error = cells[1]!["outputs"]!.AsArray().Single()!;
        Assert.Equal("error", (string?)error["output_type"]);
        Assert.Equal("InvalidOperationException", (string?)error["ename"]);
        Assert.Null(cells[2]!["execution_count"]);   // never ran
        Assert.True(File.Exists(result.ExecutedPath));
    }

    [Fact]
    public async Task A_Compilation_Error_Names_The_Cell_And_The_Line()
    {
        using var folder = new TempFolder();
        var path = Write(folder, "typo.ipynb", "var a = 1;", "#r \"nuget: Parquet.Net, 6.1.0\"\nvar b = a +;");
        var (result, _) = await Run(folder, path);

        Assert.False(result.Succeeded);
        Assert.Equal("CompilationError", result.Failure!.ErrorName);
        Assert.Contains("cell 2", result.Failure.Message);
        Assert.Contains("(2,", result.Failure.Message);   // line 2 of the cell: the directive line keeps its place
    }

    [Fact]
    public async Task An_Unknown_Package_Is_An_Error_Naming_The_Cell_And_The_Package()
    {
        using var folder = new TempFolder();
        var path = Write(folder, "unknown.ipynb", "md:# Packages", "#r \"nuget: No.Such.Package, 1.0.0\"\n1");
        var (result, executed) = await Run(folder, path);

        Assert.False(result.Succeeded);
        Assert.Equal("PackageNotFound", result.Failure!.ErrorName);
        Assert.Contains("cell 2", result.Failure.Message);
        Assert.Contains("No.Such.Package", result.Failure.Message);
        Assert.Contains("does not carry", result.Failure.Message);
        Assert.Contains("No.Such.Package", OutputText(CodeCells(executed)[0]!));
    }

    [Fact]
    public async Task A_Carried_Package_In_Another_Version_Is_An_Error()
    {
        using var folder = new TempFolder();
        var path = Write(folder, "version.ipynb", "#r \"nuget: Parquet.Net, 5.0.0\"");
        var (result, _) = await Run(folder, path);

        Assert.False(result.Succeeded);
        Assert.Contains("carries Parquet.Net 6.1.0, not Parquet.Net 5.0.0", result.Failure!.Message);
    }

    [Fact]
    public async Task A_Package_Must_Be_Referenced_Before_Its_Types_Compile()
    {
        // As in the kernel: the runner carries Parquet.Net, but a notebook sees it only after #r "nuget: ...".
        using var folder = new TempFolder();
        var without = await Run(folder, Write(folder, "without.ipynb", "typeof(Parquet.ParquetReader).Name"));
        var with = await Run(folder, Write(folder, "with.ipynb", "#r \"nuget: Parquet.Net, 6.1.0\"\ntypeof(Parquet.ParquetReader).Name"));

        Assert.Equal("CompilationError", without.Result.Failure!.ErrorName);
        Assert.True(with.Result.Succeeded, with.Result.Failure?.Message);
    }

    [Fact]
    public async Task Display_Returns_A_Handle_Whose_Update_Replaces_The_Output()
    {
        using var folder = new TempFolder();
        var path = Write(folder, "display.ipynb",
            "var progress = display(HTML(\"<b>0%</b>\"));\nvar other = display(\"stays\");",
            "for (var i = 1; i <= 4; i++) progress.Update(HTML($\"<b>{25 * i}%</b>\"));");
        var (result, executed) = await Run(folder, path);

        Assert.True(result.Succeeded, result.Failure?.Message);
        var outputs = CodeCells(executed)[0]!["outputs"]!.AsArray();
        Assert.Equal(2, outputs.Count);
        Assert.Equal("display_data", (string?)outputs[0]!["output_type"]);
        Assert.Equal("<b>100%</b>", (string?)outputs[0]!["data"]!["text/html"]);
        Assert.Equal("stays", (string?)outputs[1]!["data"]!["text/plain"]);
        Assert.Empty(CodeCells(executed)[1]!["outputs"]!.AsArray());
    }

    [Fact]
    public async Task Console_Output_Becomes_Stream_Outputs_Of_The_Cell()
    {
        using var folder = new TempFolder();
        var path = Write(folder, "console.ipynb", "Console.WriteLine(\"one\");\nConsole.Write(\"two\\n\");\nConsole.Error.WriteLine(\"a warning\");");
        var (result, executed) = await Run(folder, path);

        Assert.True(result.Succeeded, result.Failure?.Message);
        var outputs = CodeCells(executed)[0]!["outputs"]!.AsArray();
        Assert.Equal(["stdout", "stderr"], outputs.Select(o => (string?)o!["name"]));
        Assert.Equal("one\ntwo\n", (string?)outputs[0]!["text"]);
        Assert.Equal("a warning\n", (string?)outputs[1]!["text"]);
    }

    [Fact]
    public async Task Magics_The_Runner_Does_Not_Need_And_Other_Kernels_Are_Skipped_With_A_Note()
    {
        using var folder = new TempFolder();
        var path = Write(folder, "magics.ipynb",
            "#!time\n#i \"nuget: https://example.invalid/feed\"\nvar y = 3;",
            "fsharp:let z = 4",
            "y * 2\n#!fsharp\nthis is not C#");
        var (result, executed) = await Run(folder, path);

        Assert.True(result.Succeeded, result.Failure?.Message);
        Assert.Contains(result.Notes, n => n.Contains("cell 1") && n.Contains("#!time") && n.Contains("skipped"));
        Assert.Contains(result.Notes, n => n.Contains("cell 1") && n.Contains("package source"));
        Assert.Contains(result.Notes, n => n.Contains("cell 2") && n.Contains("fsharp"));
        Assert.Contains(result.Notes, n => n.Contains("cell 3") && n.Contains("fsharp kernel"));
        Assert.Equal("6", (string?)CodeCells(executed)[2]!["outputs"]![0]!["data"]!["text/plain"]);
    }

    [Fact]
    public async Task Import_Runs_A_Dib_Files_CSharp_Cells_In_The_Same_Session()
    {
        using var folder = new TempFolder();
        folder.Write("shared.dib", "#!meta\n\n{\"kernelInfo\":{}}\n\n#!markdown\n\n# not code\n\n#!csharp\n\nvar fromImport = 5;\n\n#!csharp\n\n#!import second.dib\n");
        folder.Write("second.dib", "#!csharp\n\nvar fromSecond = fromImport + 1;\n");
        var path = Write(folder, "import.ipynb", "#!import shared.dib", "fromSecond * 7");
        var (result, executed) = await Run(folder, path);

        Assert.True(result.Succeeded, result.Failure?.Message);
        Assert.Equal("42", (string?)CodeCells(executed)[1]!["outputs"]![0]!["data"]!["text/plain"]);
    }

    [Fact]
    public async Task Writes_The_Executed_Notebook_And_A_Self_Contained_Html_Export_With_Charts()
    {
        using var folder = new TempFolder();
        var path = Write(folder, "chart.ipynb",
            "md:# A chart\nSome *markdown*.",
            "#r \"../../src/Helpers/bin/Debug/net10.0/FineTuning.dll\"\n" +
            "FineTuning.Charts.Chart.Column(keys: new[] { \"a\", \"b\" }, values: new double[] { 1, 2 }, name: \"n\")",
            "FineTuning.Charts.Chart.Line(x: new double[] { 1, 2 }, y: new double[] { 3, 4 }, name: \"loss\")",
            "new Dictionary<string, double> { [\"eval_accuracy\"] = 0.5, [\"eval_f1\"] = 0.25 }");
        var (result, executed) = await Run(folder, path);

        Assert.True(result.Succeeded, result.Failure?.Message);
        Assert.Equal(".net-csharp", (string?)executed["metadata"]!["kernelspec"]!["name"]);   // the rest of the JSON is kept
        var chart = (string)CodeCells(executed)[0]!["outputs"]![0]!["data"]!["text/html"]!;
        Assert.Contains("Plotly.newPlot", chart);
        Assert.Contains("window.Plotly", chart);          // plotly.js itself is embedded...
        Assert.True(chart.Length > 1_000_000, "plotly.js embedded");
        Assert.DoesNotContain("<script src", chart);      // ...not loaded from a CDN
        var second = (string)CodeCells(executed)[1]!["outputs"]![0]!["data"]!["text/html"]!;
        Assert.Contains("Plotly.newPlot", second);
        Assert.True(second.Length < 5_000, "the notebook's second chart uses the first one's plotly.js");
        var metrics = CodeCells(executed)[2]!["outputs"]![0]!["data"]!;
        Assert.Equal("{ eval_accuracy: 0.5, eval_f1: 0.25 }", (string?)metrics["text/plain"]);
        Assert.Contains("<td>eval_f1</td>", (string?)metrics["text/html"]);

        var html = File.ReadAllText(result.HtmlPath!);
        Assert.Contains("<h1", html);
        Assert.Contains("<em>markdown</em>", html);
        Assert.Contains("Plotly.newPlot", html);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(html, "plotly.js v2"));   // plotly.js once per page
        Assert.DoesNotContain("<script src", html);
        Assert.Empty(Directory.GetFiles(folder.File("out"), "*.tmp"));
    }
}
