using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace FineTuning.NotebookRunner.Tests;

/// <summary>The lessons as files: Polyglot Notebooks' metadata, one knobs cell first, a quiz last, pinned packages that
/// match Directory.Packages.props.</summary>
public class LessonFormatTests
{
    static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Helpers.sln"))) return dir.FullName;
        throw new InvalidOperationException("repository root not found");
    }

    public static TheoryData<string> Lessons => new(Directory.GetFiles(Path.Combine(Root(), "notebooks"), "*.ipynb").Select(Path.GetFileName).Order(StringComparer.Ordinal)!);

    static JsonObject Load(string lesson) => (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(Root(), "notebooks", lesson)))!;

    [Fact]
    public void There_Are_Nine_Lessons_In_Order()
    {
        Assert.Equal(
            ["00-setup.ipynb", "01-load-data.ipynb", "02-tokenize-and-pad.ipynb", "03-head-swap.ipynb", "04-training-arguments.ipynb",
             "05-train.ipynb", "06-evaluate.ipynb", "07-careful-hyperparameters.ipynb", "08-lora.ipynb"],
            Directory.GetFiles(Path.Combine(Root(), "notebooks"), "*.ipynb").Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Lessons))]
    public void Lesson_Has_Polyglot_Metadata_A_Knobs_Cell_First_Markdown_Before_Code_And_A_Quiz(string lesson)
    {
        var notebook = Load(lesson);
        Assert.Equal(".net-csharp", (string?)notebook["metadata"]!["kernelspec"]!["name"]);
        Assert.Equal("csharp", (string?)notebook["metadata"]!["polyglot_notebook"]!["kernelInfo"]!["defaultKernelName"]);
        var cells = notebook["cells"]!.AsArray();
        var code = cells.Where(c => (string?)c!["cell_type"] == "code").ToList();
        Assert.All(code, c =>
        {
            Assert.Equal("csharp", (string?)c!["metadata"]!["polyglot_notebook"]!["kernelName"]);
            Assert.Equal("csharp", (string?)c["metadata"]!["dotnet_interactive"]!["language"]);
            Assert.Empty(c["outputs"]!.AsArray());   // committed without outputs: the runner produces them
        });
        string Source(JsonNode cell) => string.Concat(cell["source"]!.AsArray().Select(l => (string?)l));
        Assert.Equal("markdown", (string?)cells[0]!["cell_type"]);
        var knobs = Source(code[0]!);
        foreach (var knob in new[] { "FT_MODEL", "FT_TASK", "FT_BATCH_SIZE", "FT_EPOCHS", "FT_DEVICE", "\"bert-base-uncased\"", "\"mrpc\"", "\"8\"", "\"3\"", "\"auto\"" })
            Assert.Contains(knob, knobs);
        Assert.Contains(code.Take(3), c => Source(c!).Trim() == "#!import setup.dib");
        Assert.Equal("markdown", (string?)cells[1]!["cell_type"]);
        var last = Source(cells[^1]!);
        Assert.Contains("## Quiz", last);
        Assert.True(Regex.Matches(last, "<details>").Count >= 3, "a quiz of three questions with folded answers");
        // A code cell never follows the title directly, and no two lessons' steps lack their "why".
        Assert.True(cells.Count(c => (string?)c!["cell_type"] == "markdown") * 2 >= code.Count, "markdown explains the steps");
    }

    [Theory]
    [MemberData(nameof(Lessons))]
    public async Task The_Knobs_Cell_Refuses_A_Task_Other_Than_Mrpc_By_Name(string lesson)
    {
        // The lessons' code is written for MRPC (two text columns, 2 labels): FT_TASK is not offered for other tasks,
        // and a value other than mrpc stops the first cell with what to use instead, not a KeyNotFoundException later.
        var knobs = string.Concat(Load(lesson)["cells"]!.AsArray().First(c => (string?)c!["cell_type"] == "code")!["source"]!.AsArray().Select(l => (string?)l));
        using var folder = new FineTuning.Tests.TempFolder();
        var before = Environment.GetEnvironmentVariable("FT_TASK");
        try
        {
            Environment.SetEnvironmentVariable("FT_TASK", "sst2");
            var (refused, _) = await InlineNotebook.Run(folder, InlineNotebook.Write(folder, "knobs.ipynb", knobs), RunOptions.Default with { Html = false });
            Assert.NotNull(refused.Failure);
            Assert.Contains("FT_TASK=sst2: the lessons are written for GLUE MRPC (sentence pairs, 2 labels) and run only on it; "
                + "for SST-2, MNLI or your own data use finetune (README: Your own data).", refused.Failure!.Message);
            Environment.SetEnvironmentVariable("FT_TASK", "mrpc");
            var (accepted, _) = await InlineNotebook.Run(folder, InlineNotebook.Write(folder, "knobs-mrpc.ipynb", knobs), RunOptions.Default with { Html = false });
            Assert.Null(accepted.Failure);
        }
        finally
        {
            Environment.SetEnvironmentVariable("FT_TASK", before);
        }
    }

    [Fact]
    public void Pinned_Packages_Match_Directory_Packages_Props()
    {
        var props = XDocument.Load(Path.Combine(Root(), "Directory.Packages.props"));
        var properties = props.Descendants().Where(e => e.Parent?.Name.LocalName == "PropertyGroup").ToDictionary(e => e.Name.LocalName, e => e.Value);
        var versions = props.Descendants("PackageVersion").ToDictionary(
            e => (string)e.Attribute("Include")!,
            e => Regex.Replace((string)e.Attribute("Version")!, @"\$\((\w+)\)", m => properties[m.Groups[1].Value]), StringComparer.OrdinalIgnoreCase);
        // Packages the notebooks take under another name (the kernel's TorchSharp bundles).
        string Expected(string package) => package switch
        {
            "TorchSharp-cpu" or "TorchSharp-cuda-linux" or "TorchSharp-cuda-windows" => versions["TorchSharp"],
            _ => versions.TryGetValue(package, out var v) ? v : throw new Xunit.Sdk.XunitException($"{package} is not in Directory.Packages.props"),
        };
        var files = Directory.GetFiles(Path.Combine(Root(), "notebooks"), "*.ipynb").Append(Path.Combine(Root(), "notebooks", "setup.dib"));
        var references = files.SelectMany(f => Regex.Matches(File.ReadAllText(f), @"nuget: ?([A-Za-z][\w.\-]*), ?(\d[\w.\-]*)").Select(m => (File: Path.GetFileName(f), Package: m.Groups[1].Value, Version: m.Groups[2].Value))).ToList();
        Assert.Contains(references, r => r.Package == "TorchSharp-cuda-linux");
        Assert.Contains(references, r => r.Package == "TorchSharp-cpu");
        Assert.All(references, r => Assert.True(r.Version == Expected(r.Package), $"{r.File}: {r.Package} {r.Version}, expected {Expected(r.Package)}"));
    }
}
