using System.Globalization;
using System.Numerics;
using System.Text.Json;

namespace FineTuning.Tokenizers;

/// <summary>Typed reads of tokenizer_config.json / special_tokens_map.json fields; every problem names file and field.</summary>
internal static class TokenizerJson
{
    /// <summary>HF treats model_max_length above LARGE_INTEGER (1e20; int(1e30) when unset) as "no limit"; we cut at 1e18.</summary>
    public const decimal NoLimitThreshold = 1e18m;

    /// <summary>The literal HF writes for an unlimited model_max_length (<c>int(1e30)</c>, VERY_LARGE_INTEGER).</summary>
    public const string VeryLargeInteger = "1000000000000000019884624838656";

    public static JsonElement? ReadObject(string path)
    {
        if (!File.Exists(path)) return null;
        try
        {
            var bytes = File.ReadAllBytes(path);
            if (!System.Text.Unicode.Utf8.IsValid(bytes)) throw new CheckpointException(path, "not valid UTF-8 text");
            using var doc = JsonDocument.Parse(bytes, new JsonDocumentOptions { AllowTrailingCommas = false });
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new CheckpointException(path, $"expected a JSON object at the top level, found {doc.RootElement.ValueKind}");
            if (PythonJson.FindUnreadableString(doc.RootElement) is { } unreadable)
                throw new CheckpointException(path, PythonJson.UnreadableStringMessage(unreadable));
            return doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new CheckpointException(path, $"invalid JSON {PythonJson.ParseError(e)}", inner: e);
        }
    }

    public static bool? Bool(JsonElement root, string key, string path, bool nullable = false)
    {
        if (!root.TryGetProperty(key, out var v)) return null;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Null when nullable => null,
            _ => throw new CheckpointException(path, $"field '{key}' must be true or false{(nullable ? " or null" : "")}, found {PythonJson.Describe(v)}", key),
        };
    }

    /// <summary>True when the field exists (so a null in it means "explicitly null").</summary>
    public static bool Has(JsonElement root, string key) => root.TryGetProperty(key, out _);

    public static List<string>? StringList(JsonElement root, string key, string path)
    {
        if (!root.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Array)
            throw new CheckpointException(path, $"field '{key}' must be a list of strings or null, found {PythonJson.Describe(v)}", key);
        var list = new List<string>();
        foreach (var item in v.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
                throw new CheckpointException(path, $"field '{key}' must be a list of strings, found an item {PythonJson.Describe(item)}", key);
            list.Add(item.GetString()!);
        }
        return list;
    }

    /// <summary>A special token: a string, or an AddedToken object with a "content" string.</summary>
    public static string? Token(JsonElement root, string key, string path)
    {
        if (!root.TryGetProperty(key, out var v)) return null;
        if (v.ValueKind == JsonValueKind.String) return v.GetString();
        if (v.ValueKind == JsonValueKind.Object && v.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String)
            return c.GetString();
        throw new CheckpointException(path, $"field '{key}' must be a token string (or an AddedToken object with \"content\"), found {PythonJson.Describe(v)}", key);
    }

    /// <summary>model_max_length: a positive number; at least 1e18 (or null) means no limit (returns null, found = true).</summary>
    public static long? MaxLength(JsonElement root, string key, string path, out bool found)
    {
        found = root.TryGetProperty(key, out var v);
        if (!found || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Number)
            throw new CheckpointException(path, $"field '{key}' must be a number, found {PythonJson.Describe(v)}", key);
        var raw = v.GetRawText();
        if (PythonJson.IsIntegerLiteral(raw)) // exact, whatever its length
        {
            var big = BigInteger.Parse(raw, CultureInfo.InvariantCulture);
            if (big <= 0) throw new CheckpointException(path, $"field '{key}' must be positive, found {raw}", key);
            return big >= new BigInteger(NoLimitThreshold) ? null : (long)big;
        }
        double value = v.GetDouble(); // a float literal may be huge (1e30; 1e400 reads as infinity) or negative
        if (!(value > 0)) throw new CheckpointException(path, $"field '{key}' must be positive, found {raw}", key);
        if (value >= (double)NoLimitThreshold) return null;
        if (value != Math.Floor(value)) throw new CheckpointException(path, $"field '{key}' must be a whole number, found {raw}", key);
        return (long)value;
    }
}
