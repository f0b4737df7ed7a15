using FineTuning.Tests;
using System.Text.Json.Nodes;

namespace FineTuning.NotebookRunner.Tests;

/// <summary>Tiny notebooks written inline, with the metadata Polyglot Notebooks writes, run through the runner's API in
/// the real kernel.</summary>
static class InlineNotebook
{
    /// <summary>A notebook of cells: a string starting with "md:" is a markdown cell, "fsharp:" an F# cell, anything else C#.</summary>
    public static string Write(TempFolder folder, string name, params string[] cells)
    {
        var json = new JsonObject
        {
            ["cells"] = new JsonArray(cells.Select(Cell).ToArray()),
            ["metadata"] = new JsonObject
            {
                ["kernelspec"] = new JsonObject { ["display_name"] = ".NET (C#)", ["language"] = "C#", ["name"] = ".net-csharp" },
                ["polyglot_notebook"] = new JsonObject { ["kernelInfo"] = new JsonObject { ["defaultKernelName"] = "csharp" } },
            },
            ["nbformat"] = 4,
            ["nbformat_minor"] = 2,
        };
        return folder.Write(name, json.ToJsonString());
    }

    static JsonNode Cell(string text)
    {
        if (text.StartsWith("md:", StringComparison.Ordinal))
            return new JsonObject { ["cell_type"] = "markdown", ["metadata"] = new JsonObject(), ["source"] = text[3..] };
        var kernel = text.StartsWith("fsharp:", StringComparison.Ordinal) ? "fsharp" : "csharp";
        var source = kernel == "fsharp" ? text["fsharp:".Length..] : text;
        return new JsonObject
        {
            ["cell_type"] = "code",
            ["execution_count"] = null,
            ["metadata"] = new JsonObject { ["polyglot_notebook"] = new JsonObject { ["kernelName"] = kernel } },
            ["outputs"] = new JsonArray(),
            // Jupyter's list-of-lines form.
            ["source"] = new JsonArray(Lines(source).Select(l => (JsonNode)l).ToArray()),
        };
    }

    /// <summary>"a\nb" → ["a\n", "b"].</summary>
    static IEnumerable<string> Lines(string source)
    {
        var lines = source.Split('\n');
        return lines.Select((line, i) => i < lines.Length - 1 ? line + "\n" : line);
    }

    static readonly Lazy<KernelTool> Tool = new(() => KernelTool.Find(AppContext.BaseDirectory));

    /// <summary>Runs a notebook file in the real kernel and reads back the executed notebook it wrote.</summary>
    public static async Task<(NotebookResult Result, JsonObject Executed)> Run(TempFolder folder, string notebookPath, RunOptions? options = null)
    {
        options ??= RunOptions.Default with { CellTimeout = TimeSpan.FromMinutes(5) };
        var result = await NotebookExecutor.RunAsync(notebookPath, folder.File("out"), Tool.Value, options);
        return (result, (JsonObject)JsonNode.Parse(File.ReadAllText(result.ExecutedPath))!);
    }

    public static JsonArray CodeCells(JsonObject notebook) =>
        new(notebook["cells"]!.AsArray().Where(c => (string?)c!["cell_type"] == "code").Select(c => c!.DeepClone()).ToArray());

    /// <summary>Every text of a cell's outputs (stream text, each MIME type's data, error message), joined.</summary>
    public static string OutputText(JsonNode cell) => string.Join("\n", cell["outputs"]!.AsArray().Select(o =>
        (string?)o!["text"] ?? (string?)o["evalue"] ?? string.Join("\n", o["data"]?.AsObject().Select(kv => (string?)kv.Value) ?? [])));
}
