using System.Text.Json;
using System.Text.Json.Nodes;

namespace FineTuning.NotebookRunner;

/// <summary>
/// A Jupyter notebook (nbformat 4) as VS Code's Polyglot Notebooks writes it: the JSON is kept as read, so fields the
/// runner does not know survive; running fills in each code cell's <c>outputs</c> and <c>execution_count</c>.
/// </summary>
public sealed class Notebook
{
    readonly JsonObject root;

    Notebook(string path, JsonObject root, List<NotebookCell> cells, string defaultKernel)
    {
        Path = path;
        this.root = root;
        Cells = cells;
        DefaultKernel = defaultKernel;
    }

    /// <summary>Where the notebook was read from.</summary>
    public string Path { get; }

    /// <summary>The cells in order.</summary>
    public IReadOnlyList<NotebookCell> Cells { get; }

    /// <summary>The kernel of code cells that do not name one (Polyglot's <c>defaultKernelName</c>, else csharp).</summary>
    public string DefaultKernel { get; }

    /// <summary>The first markdown heading, for titles.</summary>
    public string Title => Cells.Where(c => c.CellType == "markdown")
        .SelectMany(c => c.Source.Split('\n'))
        .Select(l => l.Trim())
        .FirstOrDefault(l => l.StartsWith('#'))?.TrimStart('#').Trim()
        ?? System.IO.Path.GetFileNameWithoutExtension(Path);

    /// <summary>Reads a notebook; a malformed file fails with <see cref="NotebookFormatException"/> naming it and the cell.</summary>
    public static Notebook Load(string path)
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path)) as JsonObject
                ?? throw new NotebookFormatException(path, "the file is not a JSON object");
        }
        catch (JsonException e)
        {
            throw new NotebookFormatException(path, $"not valid JSON (line {e.LineNumber + 1}): {e.Message}");
        }
        if (root["cells"] is not JsonArray cellsJson)
            throw new NotebookFormatException(path, "no \"cells\" array (is this an nbformat 4 notebook?)");

        var defaultKernel = NormalizeKernel(
            (string?)root["metadata"]?["polyglot_notebook"]?["kernelInfo"]?["defaultKernelName"]
            ?? (string?)root["metadata"]?["kernelspec"]?["language"]) ?? "csharp";
        var cells = new List<NotebookCell>();
        for (var i = 0; i < cellsJson.Count; i++)
        {
            if (cellsJson[i] is not JsonObject cell)
                throw new NotebookFormatException(path, $"cell {i + 1} is not a JSON object");
            var type = (string?)cell["cell_type"] ?? throw new NotebookFormatException(path, $"cell {i + 1} has no cell_type");
            var source = cell["source"] switch
            {
                JsonArray lines => string.Concat(lines.Select(l => (string?)l ?? "")),
                JsonValue text when text.TryGetValue<string>(out var s) => s,
                null => "",
                _ => throw new NotebookFormatException(path, $"cell {i + 1}: \"source\" must be a string or a list of strings"),
            };
            var kernel = NormalizeKernel(
                (string?)cell["metadata"]?["polyglot_notebook"]?["kernelName"]
                ?? (string?)cell["metadata"]?["dotnet_interactive"]?["language"]) ?? defaultKernel;
            cells.Add(new NotebookCell(i + 1, type, source.Replace("\r\n", "\n"), kernel, cell));
        }
        return new Notebook(path, root, cells, defaultKernel);
    }

    /// <summary>csharp for "C#", "c#", "csharp"; other names lower-cased.</summary>
    static string? NormalizeKernel(string? name) => name?.Trim().ToLowerInvariant() switch
    {
        null or "" => null,
        "c#" or "csharp" => "csharp",
        "f#" or "fsharp" => "fsharp",
        var other => other,
    };

    /// <summary>The notebook JSON with every code cell's outputs and execution count as they are now.</summary>
    public string ToJson()
    {
        foreach (var cell in Cells.Where(c => c.CellType == "code"))
        {
            cell.Json["execution_count"] = cell.ExecutionCount;
            cell.Json["outputs"] = new JsonArray(cell.Outputs.Select(o => (JsonNode)o.ToJson(cell.ExecutionCount)).ToArray());
        }
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";
    }

    /// <summary>Writes the notebook (temporary file, then rename).</summary>
    public void Save(string path) => AtomicFile.WriteAllText(path, ToJson());
}

/// <summary>One cell: its 1-based <see cref="Number"/>, type, source, kernel and, once run, outputs.</summary>
public sealed class NotebookCell(int number, string cellType, string source, string kernel, JsonObject json)
{
    /// <summary>1-based position among all cells (markdown included), as the error messages count.</summary>
    public int Number { get; } = number;
    /// <summary>"code", "markdown" or "raw".</summary>
    public string CellType { get; } = cellType;
    public string Source { get; } = source;
    /// <summary>The kernel the cell is for: csharp, fsharp, pwsh, html, ...</summary>
    public string Kernel { get; } = kernel;
    internal JsonObject Json { get; } = json;

    public int? ExecutionCount { get; set; }
    public List<CellOutput> Outputs { get; } = [];

    /// <summary>The first non-empty line, to name the cell in messages.</summary>
    public string FirstLine => Source.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0) ?? "";
}

/// <summary>A notebook that cannot be read, naming the file and what is wrong.</summary>
public sealed class NotebookFormatException(string path, string problem) : Exception($"{path}: {problem}");
