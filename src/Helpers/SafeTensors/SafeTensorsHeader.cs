using System.Text.Json;
using System.Text.Unicode;

namespace FineTuning.SafeTensors;

/// <summary>
/// Parses and validates a safetensors JSON header with the rules of the reference Rust crate, so a file we accept
/// is one Hugging Face accepts: known dtypes, non-negative shapes, offsets that cover the data section exactly
/// (from 0, no gaps, no overlaps, nothing left over) and byte lengths that match shape × element size.
/// </summary>
internal static class SafeTensorsHeader
{
    internal const string MetadataKey = "__metadata__";

    /// <summary>The parsed header: optional metadata and the tensors sorted by data offset.</summary>
    internal sealed record Parsed(IReadOnlyDictionary<string, string>? Metadata, List<SafeTensorInfo> Tensors);

    internal static Parsed Parse(string filePath, byte[] header, long dataLength)
    {
        // JsonDocument does not promise to reject every invalid UTF-8 sequence outside strings; check up front.
        if (!Utf8.IsValid(header))
            throw new CheckpointException(filePath, "safetensors header is not valid UTF-8");

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw new CheckpointException(filePath, $"safetensors header is not valid JSON {PythonJson.ParseError(e)}", inner: e);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new CheckpointException(filePath, $"safetensors header must be a JSON object, found {root.ValueKind}");
            if (PythonJson.FindUnreadableString(root) is { } unreadable)
                throw new CheckpointException(filePath, "safetensors header: " + PythonJson.UnreadableStringMessage(unreadable));

            IReadOnlyDictionary<string, string>? metadata = null;
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var tensors = new List<SafeTensorInfo>();
            foreach (var property in root.EnumerateObject())
            {
                // JSON allows duplicate keys and JsonDocument keeps both; a second tensor of the same name is ambiguous.
                if (!seen.Add(property.Name))
                    throw new CheckpointException(filePath, $"tensor '{property.Name}' appears twice in the header", property.Name);
                if (property.Name == MetadataKey)
                    metadata = ParseMetadata(filePath, property.Value);
                else
                    tensors.Add(ParseEntry(filePath, property.Name, property.Value));
            }

            CheckLayout(filePath, tensors, dataLength);
            return new Parsed(metadata, tensors);
        }
    }

    static IReadOnlyDictionary<string, string>? ParseMetadata(string filePath, JsonElement value)
    {
        // The Rust crate reads __metadata__ as Option<HashMap<String, String>>: null means none.
        if (value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.Object)
            throw new CheckpointException(filePath, $"'{MetadataKey}' must be an object of strings, found {value.ValueKind}", MetadataKey);
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw new CheckpointException(filePath,
                    $"'{MetadataKey}' value '{item.Name}' must be a string, found {item.Value.ValueKind}", MetadataKey);
            if (!map.TryAdd(item.Name, item.Value.GetString()!))
                throw new CheckpointException(filePath, $"'{MetadataKey}' key '{item.Name}' appears twice", MetadataKey);
        }
        return map;
    }

    static SafeTensorInfo ParseEntry(string filePath, string name, JsonElement entry)
    {
        CheckpointException Bad(string what) => new(filePath, $"tensor '{name}': {what}", name);

        if (entry.ValueKind != JsonValueKind.Object)
            throw Bad($"header entry must be an object with dtype, shape and data_offsets, found {entry.ValueKind}");

        if (!entry.TryGetProperty("dtype", out var dtypeElement))
            throw Bad("missing 'dtype'");
        if (dtypeElement.ValueKind != JsonValueKind.String)
            throw Bad($"'dtype' must be a string, found {dtypeElement.ValueKind}");
        var dtypeText = dtypeElement.GetString()!;
        if (!SafeTensorDTypes.TryParse(dtypeText, out var dtype))
            throw Bad($"unknown dtype '{dtypeText}'; supported: {SafeTensorDTypes.SupportedNames}");

        if (!entry.TryGetProperty("shape", out var shapeElement))
            throw Bad("missing 'shape'");
        if (shapeElement.ValueKind != JsonValueKind.Array)
            throw Bad($"'shape' must be an array of integers, found {shapeElement.ValueKind}");
        var shape = new long[shapeElement.GetArrayLength()];
        int i = 0;
        foreach (var dim in shapeElement.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out var d))
                throw Bad($"shape dimension {i} must be an integer, found {dim.GetRawText()}");
            if (d < 0)
                throw Bad($"shape dimension {i} is negative ({d})");
            shape[i++] = d;
        }

        if (!entry.TryGetProperty("data_offsets", out var offsets))
            throw Bad("missing 'data_offsets'");
        if (offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2)
            throw Bad($"'data_offsets' must be [begin, end], found {offsets.GetRawText()}");
        var begin = Offset(offsets[0]);
        var end = Offset(offsets[1]);
        if (begin is null || end is null)
            throw Bad($"'data_offsets' must be two non-negative integers, found {offsets.GetRawText()}");
        if (begin > end)
            throw Bad($"'data_offsets' begin {begin} is after end {end}");

        // Checked arithmetic: a shape claiming 10^12 elements must fail here, never reach an allocation. The product
        // of the non-zero dimensions is checked too: an empty tensor of shape [0, 2^62, 2^62] holds 0 bytes, but its
        // strides overflow and libtorch refuses to create it.
        long expected;
        try
        {
            expected = dtype.ElementSize();
            long strides = expected;
            foreach (var d in shape)
            {
                expected = checked(expected * d);
                strides = checked(strides * Math.Max(d, 1));
            }
        }
        catch (OverflowException)
        {
            throw Bad($"shape [{string.Join(", ", shape)}] of {dtype} overflows a 64-bit byte count");
        }
        if (expected != end.Value - begin.Value)
            throw Bad($"shape [{string.Join(", ", shape)}] of {dtype} needs {expected} bytes but data_offsets [{begin}, {end}] span {end - begin}");

        return new SafeTensorInfo(name, dtype, shape, begin.Value, end.Value);
    }

    static long? Offset(JsonElement element) =>
        element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out var v) && v >= 0 ? v : null;

    /// <summary>Sorts by offset and requires the tensors to tile [0, dataLength) exactly, as the Rust crate does.</summary>
    static void CheckLayout(string filePath, List<SafeTensorInfo> tensors, long dataLength)
    {
        tensors.Sort((a, b) =>
        {
            int c = a.DataStart.CompareTo(b.DataStart);
            if (c == 0) c = a.DataEnd.CompareTo(b.DataEnd);
            return c != 0 ? c : string.CompareOrdinal(a.Name, b.Name);
        });

        long cursor = 0;
        SafeTensorInfo? previous = null;
        foreach (var t in tensors)
        {
            if (t.DataEnd > dataLength)
                throw new CheckpointException(filePath,
                    $"tensor '{t.Name}': data_offsets end {t.DataEnd} is past the end of the data section ({dataLength} bytes); the file may be truncated", t.Name);
            if (t.DataStart < cursor)
                throw new CheckpointException(filePath,
                    $"tensor '{t.Name}': data_offsets [{t.DataStart}, {t.DataEnd}] overlap tensor '{previous!.Name}' [{previous.DataStart}, {previous.DataEnd}]", t.Name);
            if (t.DataStart > cursor)
                throw new CheckpointException(filePath,
                    $"tensor '{t.Name}': gap of {t.DataStart - cursor} bytes before its data_offsets [{t.DataStart}, {t.DataEnd}] (the data section must be covered without holes)", t.Name);
            cursor = t.DataEnd;
            previous = t;
        }
        if (cursor != dataLength)
            throw new CheckpointException(filePath,
                $"the data section has {dataLength} bytes but the tensors cover only {cursor}" +
                (previous is null ? "" : $" (last tensor '{previous.Name}')"), previous?.Name);
    }
}
