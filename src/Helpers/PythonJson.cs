using System.Globalization;
using System.Text;
using System.Text.Json;

namespace FineTuning;

/// <summary>
/// JSON exactly as Python writes it (<c>json.dumps(obj, indent=2, sort_keys=True)</c>, <c>repr(float)</c>), so the
/// files we save (config.json, the shard index) are byte for byte what <c>transformers</c> saves.
/// </summary>
internal static class PythonJson
{
    /// <summary>Orders keys by Unicode code point, as Python sorts str keys.</summary>
    public static IComparer<string> CodePointOrder => CodePointComparer.Instance;

    /// <summary>A JSON value in words for error messages: <c>string "128"</c>, <c>integer 3</c>, <c>an array</c>.</summary>
    public static string Describe(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => $"string {Truncate(e.GetRawText())}",
        JsonValueKind.Number => IsIntegerLiteral(e.GetRawText()) ? $"integer {e.GetRawText()}" : $"number {e.GetRawText()}",
        JsonValueKind.True or JsonValueKind.False => $"boolean {e.GetRawText()}",
        JsonValueKind.Null => "null",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => e.ValueKind.ToString(),
    };

    /// <summary>A JSON file's text, strictly UTF-8 (a BOM allowed), as Python's <c>json.load</c> of a file opened as
    /// UTF-8 reads it.</summary>
    /// <exception cref="CheckpointException">Bytes that are not UTF-8, or the file cannot be read; the message names
    /// <paramref name="path"/>.</exception>
    public static string ReadText(string path)
    {
        try
        {
            return File.ReadAllText(path, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true));
        }
        catch (DecoderFallbackException e)
        {
            throw new CheckpointException(path, "not valid UTF-8 text", null, e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException(path, $"cannot read the file: {e.Message}", null, e);
        }
    }

    /// <summary>
    /// Reads a JSON file's text that must hold one object (config.json, adapter_config.json, training_args.json) into
    /// its members, the last of a repeated key winning as in Python's <c>json</c>.
    /// </summary>
    /// <exception cref="CheckpointException">Not valid JSON (the message gives the line and byte), not an object, or
    /// a string that is not valid text (<see cref="FindUnreadableString"/>); the message names <paramref name="sourcePath"/>.</exception>
    public static Dictionary<string, JsonElement> ReadObject(string json, string sourcePath)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new CheckpointException(sourcePath, $"not valid JSON {ParseError(e)}", null, e);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new CheckpointException(sourcePath, $"expected a JSON object at the top level, got {Describe(root)}");
            if (FindUnreadableString(root) is { } unreadable)
                throw new CheckpointException(sourcePath, UnreadableStringMessage(unreadable));
            var members = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            foreach (var p in root.EnumerateObject()) members[p.Name] = p.Value.Clone();
            return members;
        }
    }

    /// <summary>
    /// A JSON parse error for users: <c>at line L, byte B: what</c> with 1-based positions, without System.Text.Json's
    /// 0-based <c>LineNumber: 0 | BytePositionInLine: 20.</c> suffix and its advice to programmers ("Change the
    /// reader options.").
    /// </summary>
    public static string ParseError(JsonException e)
    {
        var what = System.Text.RegularExpressions.Regex.Replace(e.Message, @"\s*LineNumber: \d+ \| BytePositionInLine: \d+\.\s*$", "")
            .Replace(" Change the reader options.", "").Replace(" which is not supported in this mode.", ", which JSON does not allow.").Trim();
        return e.LineNumber is { } line ? $"at line {line + 1}, byte {e.BytePositionInLine + 1}: {what}" : $": {what}";
    }

    /// <summary>
    /// Where the first string of a parsed document (a key or a value) that cannot become a .NET string is, in words
    /// ("the value of 'id2label.0'", "a key in 'weight_map'"), or null when every string reads. Two kinds pass
    /// <see cref="JsonDocument.Parse(string, JsonDocumentOptions)"/> and only fail later, when the string is read:
    /// invalid UTF-8 inside a string, and a <c>\u</c> escape that is half of a UTF-16 surrogate pair (<c>"\ud800"</c>,
    /// which Python's json accepts). Loaders call this right after parsing, so such a file gets their clear error
    /// instead of an InvalidOperationException from deep inside.
    /// </summary>
    public static string? FindUnreadableString(JsonElement element) => FindUnreadable(element, "");

    /// <summary>The message loaders use for what <see cref="FindUnreadableString"/> found.</summary>
    public static string UnreadableStringMessage(string where) =>
        $"{where} is not valid text: invalid UTF-8, or a \\u escape that is half of a UTF-16 surrogate pair (such as \\ud800)";

    static string? FindUnreadable(JsonElement e, string path)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.String:
                return Reads(e) ? null : path.Length == 0 ? "the top-level string" : $"the value of '{path}'";
            case JsonValueKind.Array:
                int i = 0;
                foreach (var item in e.EnumerateArray())
                    if (FindUnreadable(item, $"{path}[{i++}]") is { } found) return found;
                return null;
            case JsonValueKind.Object:
                foreach (var property in e.EnumerateObject())
                {
                    string name;
                    try { name = property.Name; }
                    catch (InvalidOperationException) { return path.Length == 0 ? "a key at the top level" : $"a key in '{path}'"; }
                    if (FindUnreadable(property.Value, path.Length == 0 ? name : $"{path}.{name}") is { } found) return found;
                }
                return null;
            default:
                return null;
        }

        static bool Reads(JsonElement s)
        {
            try { s.GetString(); return true; }
            catch (InvalidOperationException) { return false; }
        }
    }

    static string Truncate(string s) => s.Length <= 60 ? s : s[..57] + "...";

    public static bool IsIntegerLiteral(string text)
    {
        var digits = text.StartsWith('-') ? text.AsSpan(1) : text.AsSpan();
        if (digits.IsEmpty) return false;
        foreach (var c in digits) if (c is < '0' or > '9') return false;
        return true;
    }

    /// <summary>Python's <c>repr(float)</c>: shortest round-trip digits, exponent form below 1e-4 or from 1e16.</summary>
    public static string Float(double value)
    {
        if (double.IsNaN(value)) return "NaN";
        if (double.IsPositiveInfinity(value)) return "Infinity";
        if (double.IsNegativeInfinity(value)) return "-Infinity";
        if (value == 0) return double.IsNegative(value) ? "-0.0" : "0.0";

        // "R" gives the shortest round-trip digits as d[.ddd][E±x]; take the digits and the decimal exponent.
        var shortest = Math.Abs(value).ToString("R", CultureInfo.InvariantCulture);
        var exponent = 0;
        var ePos = shortest.IndexOfAny(['E', 'e']);
        if (ePos >= 0)
        {
            exponent = int.Parse(shortest[(ePos + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            shortest = shortest[..ePos];
        }
        var dot = shortest.IndexOf('.');
        var intPart = dot >= 0 ? shortest[..dot] : shortest;
        var fracPart = dot >= 0 ? shortest[(dot + 1)..] : "";
        var digits = (intPart + fracPart).TrimStart('0');
        var leadingZeros = (intPart + fracPart).Length - digits.Length;
        digits = digits.TrimEnd('0');
        if (digits.Length == 0) digits = "0";
        // value = 0.d1d2... × 10^decpt
        var decpt = intPart.Length - leadingZeros + exponent;

        var sb = new StringBuilder();
        if (value < 0) sb.Append('-');
        if (decpt is > -4 and <= 16)
        {
            if (decpt <= 0)
                sb.Append("0.").Append('0', -decpt).Append(digits);
            else if (digits.Length <= decpt)
                sb.Append(digits).Append('0', decpt - digits.Length).Append(".0");
            else
                sb.Append(digits, 0, decpt).Append('.').Append(digits, decpt, digits.Length - decpt);
        }
        else
        {
            sb.Append(digits[0]);
            if (digits.Length > 1) sb.Append('.').Append(digits, 1, digits.Length - 1);
            var e = decpt - 1;
            sb.Append('e').Append(e < 0 ? '-' : '+').Append(Math.Abs(e).ToString("00", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    /// <summary>Orders strings by Unicode code point, as Python sorts str keys.</summary>
    internal sealed class CodePointComparer : IComparer<string>
    {
        public static readonly CodePointComparer Instance = new();

        public int Compare(string? x, string? y)
        {
            if (ReferenceEquals(x, y)) return 0;
            if (x is null) return -1;
            if (y is null) return 1;
            var ex = x.EnumerateRunes();
            var ey = y.EnumerateRunes();
            while (true)
            {
                var hx = ex.MoveNext();
                var hy = ey.MoveNext();
                if (!hx || !hy) return hx.CompareTo(hy);
                var c = ex.Current.Value.CompareTo(ey.Current.Value);
                if (c != 0) return c;
            }
        }
    }

    /// <summary>Python <c>json.dumps(indent=2, sort_keys=True)</c> output (ensure_ascii, ", " / ": " separators).</summary>
    internal sealed class Writer
    {
        readonly StringBuilder sb = new();
        int depth;

        public override string ToString() => sb.ToString();

        public void Long(long value) => sb.Append(value.ToString(CultureInfo.InvariantCulture));
        public void Int(int? value) => sb.Append(value is { } v ? v.ToString(CultureInfo.InvariantCulture) : "null");
        public void Double(double? value) => sb.Append(value is { } v ? Float(v) : "null");
        public void Bool(bool value) => sb.Append(value ? "true" : "false");

        public void String(string? value)
        {
            if (value is null) { sb.Append("null"); return; }
            sb.Append('"');
            foreach (var c in value)
            {
                switch (c)
                {
                    case '"': sb.Append("\\\""); break;
                    case '\\': sb.Append("\\\\"); break;
                    case '\n': sb.Append("\\n"); break;
                    case '\r': sb.Append("\\r"); break;
                    case '\t': sb.Append("\\t"); break;
                    case '\b': sb.Append("\\b"); break;
                    case '\f': sb.Append("\\f"); break;
                    default:
                        if (c is >= ' ' and <= '~') sb.Append(c);
                        else sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                        break;
                }
            }
            sb.Append('"');
        }

        public void Object(IEnumerable<(string Key, Action<Writer> Write)> members)
        {
            var list = members.ToList();
            if (list.Count == 0) { sb.Append("{}"); return; }
            sb.Append('{');
            depth++;
            for (var i = 0; i < list.Count; i++)
            {
                sb.Append(i == 0 ? "\n" : ",\n").Append(' ', 2 * depth);
                String(list[i].Key);
                sb.Append(": ");
                list[i].Write(this);
            }
            depth--;
            sb.Append('\n').Append(' ', 2 * depth).Append('}');
        }

        public void Array(IEnumerable<Action<Writer>> items)
        {
            var list = items.ToList();
            if (list.Count == 0) { sb.Append("[]"); return; }
            sb.Append('[');
            depth++;
            for (var i = 0; i < list.Count; i++)
            {
                sb.Append(i == 0 ? "\n" : ",\n").Append(' ', 2 * depth);
                list[i](this);
            }
            depth--;
            sb.Append('\n').Append(' ', 2 * depth).Append(']');
        }

        public void Element(JsonElement e)
        {
            switch (e.ValueKind)
            {
                case JsonValueKind.Object:
                    // Python keeps the last of repeated keys, then sorts.
                    var members = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
                    foreach (var p in e.EnumerateObject()) members[p.Name] = p.Value;
                    Object(members.OrderBy(p => p.Key, CodePointComparer.Instance)
                        .Select(p => (p.Key, (Action<Writer>)(w => w.Element(p.Value)))));
                    break;
                case JsonValueKind.Array:
                    Array(e.EnumerateArray().Select(item => (Action<Writer>)(w => w.Element(item))));
                    break;
                case JsonValueKind.String: String(e.GetString()); break;
                case JsonValueKind.Number:
                    var raw = e.GetRawText();
                    // Python reads an integer literal as int (written back verbatim) and anything else as float.
                    sb.Append(IsIntegerLiteral(raw) ? raw : Float(double.Parse(raw, NumberStyles.Float, CultureInfo.InvariantCulture)));
                    break;
                case JsonValueKind.True: sb.Append("true"); break;
                case JsonValueKind.False: sb.Append("false"); break;
                default: sb.Append("null"); break;
            }
        }
    }
}
