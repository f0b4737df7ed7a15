using System.Text;
using System.Text.Json.Nodes;

namespace FineTuning.NotebookRunner;

/// <summary>One output of a code cell, in nbformat 4's four kinds.</summary>
public abstract class CellOutput
{
    internal abstract JsonObject ToJson(int? executionCount);
}

/// <summary>Text a cell wrote to stdout or stderr (consecutive writes to one stream are one output, as in Jupyter).</summary>
public sealed class StreamOutput(string name) : CellOutput
{
    readonly StringBuilder text = new();

    /// <summary>"stdout" or "stderr".</summary>
    public string Name { get; } = name;
    public string Text { get { lock (text) return text.ToString(); } }

    internal void Append(string value) { lock (text) text.Append(value); }

    internal override JsonObject ToJson(int? executionCount) => new()
    {
        ["output_type"] = "stream",
        ["name"] = Name,
        ["text"] = Text,
    };
}

/// <summary>
/// A formatted value: from <c>display(...)</c> (display_data, replaced in place by the handle's <c>Update</c>) or the
/// value of the cell's last expression (execute_result).
/// </summary>
public sealed class DataOutput(bool isResult, FormattedValue value) : CellOutput
{
    /// <summary>True for the cell's result (execute_result), false for display_data.</summary>
    public bool IsResult { get; } = isResult;

    /// <summary>The content by MIME type (text/plain, text/html), replaced by <see cref="DisplayedValue.Update"/>.</summary>
    public FormattedValue Value { get; internal set; } = value;

    internal override JsonObject ToJson(int? executionCount)
    {
        var data = new JsonObject();
        foreach (var (mime, content) in Value.Data) data[mime] = content;
        var json = new JsonObject
        {
            ["output_type"] = IsResult ? "execute_result" : "display_data",
            ["data"] = data,
            ["metadata"] = new JsonObject(),
        };
        if (IsResult) json["execution_count"] = executionCount;
        return json;
    }
}

/// <summary>The exception or compilation errors that stopped a cell.</summary>
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
