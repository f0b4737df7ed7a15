using System.Text;
using System.Text.Json.Nodes;

namespace FineTuning.NotebookRunner;

/// <summary>One output of a code cell, in nbformat 4's four kinds, as the kernel's events made it.</summary>
public abstract class CellOutput
{
    internal abstract JsonObject ToJson(int? executionCount);
}

/// <summary>Text the cell wrote to stdout or stderr (consecutive writes to one stream are one output, as in Jupyter).</summary>
public sealed class StreamOutput(string name) : CellOutput
{
    readonly StringBuilder text = new();

    /// <summary>"stdout" or "stderr".</summary>
    public string Name { get; } = name;
    public string Text => text.ToString();

    internal void Append(string value) => text.Append(value);

    internal override JsonObject ToJson(int? executionCount) => new()
    {
        ["output_type"] = "stream",
        ["name"] = Name,
        ["text"] = Text,
    };
}

/// <summary>
/// A formatted value from the kernel: <c>DisplayedValueProduced</c> (display_data, replaced in place by a later
/// <c>DisplayedValueUpdated</c> with the same value id) or <c>ReturnValueProduced</c> (execute_result).
/// </summary>
public sealed class DataOutput(bool isResult, IReadOnlyDictionary<string, string> data, string? valueId) : CellOutput
{
    /// <summary>True for the cell's result (execute_result), false for display_data.</summary>
    public bool IsResult { get; } = isResult;

    /// <summary>The kernel's value id (display id), or null.</summary>
    public string? ValueId { get; } = valueId;

    /// <summary>The content by MIME type (text/plain, text/html, ...), exactly as the kernel formatted it.</summary>
    public IReadOnlyDictionary<string, string> Data { get; internal set; } = data;

    public string? PlainText => Data.GetValueOrDefault("text/plain");
    public string? Html => Data.GetValueOrDefault("text/html");

    internal override JsonObject ToJson(int? executionCount)
    {
        var data = new JsonObject();
        foreach (var (mime, content) in Data)
            data[mime] = mime.EndsWith("json", StringComparison.Ordinal) && TryParse(content) is { } json ? json : content;
        var result = new JsonObject
        {
            ["output_type"] = IsResult ? "execute_result" : "display_data",
            ["data"] = data,
            ["metadata"] = new JsonObject(),
        };
        // The value id stays out of the file: nbformat keeps display ids only while a notebook is open (transient).
        if (IsResult) result["execution_count"] = executionCount;
        return result;
    }

    static JsonNode? TryParse(string text)
    {
        try { return JsonNode.Parse(text); }
        catch (System.Text.Json.JsonException) { return null; }
    }
}

/// <summary>The error that stopped a cell: the kernel's CommandFailed message (compiler errors or the exception),
/// or the runner's own (timeout, kernel exit).</summary>
public sealed class ErrorOutput(string name, string message, IReadOnlyList<string> traceback) : CellOutput
{
    public string Name { get; } = name;
    public string Message { get; } = message;
    public IReadOnlyList<string> Traceback { get; } = traceback;

    internal override JsonObject ToJson(int? executionCount) => new()
    {
        ["output_type"] = "error",
        ["ename"] = Name,
        ["evalue"] = Message,
        ["traceback"] = new JsonArray(Traceback.Select(t => (JsonNode)t).ToArray()),
    };
}
