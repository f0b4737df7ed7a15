using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;

namespace FineTuning.Tests.Reliability;

/// <summary>
/// Seeded mutations of a valid file for <see cref="LoaderFuzzTests"/>: bit flips, truncations, byte edits, chunk
/// insertions / deletions / duplications, and structure-aware edits — a JSON value (number, string, literal) replaced
/// by an "interesting" one (huge, negative, fractional, out of range, path-like, deeply nested ...), a line or a
/// field of a line edited, and for safetensors the 8-byte header length replaced (by 10^12, 2^64 - 1, ...) or the
/// JSON header edited with the length prefix fixed up so the edit reaches the validator. Each mutation says what it
/// did, for the failure message.
/// </summary>
sealed class Mutator(Random random)
{
    public enum Kind { Binary, Json, Lines, SafeTensors }

    static readonly string[] Numbers =
    [
        "0", "-1", "1", "2", "3", "7", "255", "256", "65536", "2147483647", "2147483648", "-2147483649", "4294967296",
        "9223372036854775807", "9223372036854775808", "-9223372036854775809", "18446744073709551615", "18446744073709551616",
        "1000000000000", "1e12", "1e18", "1e30", "-1e30", "1e308", "1e400", "-1e400", "1e-400", "1.5", "-0", "0.0", "-0.5",
        "4611686018427387904", "99999999999999999999999999999999999", "1E+2", "0.1e1",
    ];

    static readonly string[] Strings =
    [
        "\"\"", "\"..\"", "\"../../etc/passwd\"", "\"/etc/passwd\"", "\"sub/../../x\"", "\"\\u0000\"", "\"a\\u0000b\"",
        "\"F64\"", "\"BF16\"", "\"F8_E4M3\"", "\"BOOL\"", "\"I8\"", "\"U64\"", "\"C64\"", "\"f32\"", "\"[UNK]\"", "\"[PAD]\"",
        "\"bert\"", "\"gpt2\"", "\"BertTokenizer\"", "\"GPT2Tokenizer\"", "\"gelu\"", "\"absolute\"", "\"regression\"",
        "\"\\ud800\"", "\"é\"", "\"\\n\"", "\"" + new string('a', 5000) + "\"",
    ];

    static readonly string[] Values =
    [
        "null", "true", "false", "[]", "{}", "[0]", "[-1]", "[1e12]", "[0, 1e12, 1e12]", "{\"a\": 1}", "[[]]",
        new string('[', 2000) + new string(']', 2000), new string('[', 40) + new string(']', 40),
        "[4611686018427387904, 4611686018427387904]", "[0, 4611686018427387904, 4611686018427387904]",
    ];

    static readonly byte[] InterestingBytes = [0x00, 0xFF, 0x7F, 0x80, (byte)'"', (byte)'{', (byte)'}', (byte)'[', (byte)'\n',
        (byte)'\t', (byte)'\r', (byte)',', (byte)':', (byte)'\\', 0xC0, 0xED, 0xEF, 0xBB, 0xBF, (byte)'-', (byte)'9'];

    static readonly ulong[] HeaderLengths =
    [
        0, 1, 2, 7, 8, 100, 1_000_000_000_000, ulong.MaxValue, long.MaxValue, (ulong)long.MaxValue + 1, 100_000_001,
        uint.MaxValue, (ulong)int.MaxValue + 1,
    ];

    /// <summary>1 to 3 mutations of <paramref name="original"/>, appropriate to its <paramref name="kind"/>.</summary>
    public byte[] Mutate(byte[] original, Kind kind, List<string> log)
    {
        var bytes = original;
        int count = random.Next(1, 4);
        for (int i = 0; i < count; i++)
        {
            int pick = random.Next(10);
            bytes = pick switch
            {
                < 4 => Structured(bytes, kind, log),
                < 6 => FlipBits(bytes, log),
                6 => Truncate(bytes, log),
                7 => SetBytes(bytes, log),
                _ => EditChunk(bytes, log),
            };
        }
        return bytes;
    }

    byte[] Structured(byte[] bytes, Kind kind, List<string> log) => kind switch
    {
        Kind.Json => Encode(EditJson(Text(bytes), log)),
        Kind.Lines => Encode(EditLines(Text(bytes), log)),
        Kind.SafeTensors => EditSafeTensors(bytes, log),
        _ => FlipBits(bytes, log),
    };

    byte[] FlipBits(byte[] bytes, List<string> log)
    {
        if (bytes.Length == 0) return bytes;
        var copy = (byte[])bytes.Clone();
        int flips = random.Next(1, 9);
        for (int i = 0; i < flips; i++)
        {
            int at = random.Next(copy.Length);
            int bit = random.Next(8);
            copy[at] ^= (byte)(1 << bit);
            log.Add($"flip bit {bit} of byte {at}");
        }
        return copy;
    }

    byte[] Truncate(byte[] bytes, List<string> log)
    {
        int length = random.Next(bytes.Length + 1);
        log.Add($"truncate to {length} of {bytes.Length} bytes");
        return bytes[..length];
    }

    byte[] SetBytes(byte[] bytes, List<string> log)
    {
        if (bytes.Length == 0) return bytes;
        var copy = (byte[])bytes.Clone();
        int n = random.Next(1, 5);
        for (int i = 0; i < n; i++)
        {
            int at = random.Next(copy.Length);
            copy[at] = InterestingBytes[random.Next(InterestingBytes.Length)];
            log.Add($"byte {at} = 0x{copy[at]:X2}");
        }
        return copy;
    }

    byte[] EditChunk(byte[] bytes, List<string> log)
    {
        int at = random.Next(bytes.Length + 1);
        int length = Math.Min(random.Next(1, 64), bytes.Length - at);
        switch (random.Next(4))
        {
            case 0: // delete
                log.Add($"delete {length} bytes at {at}");
                return [.. bytes[..at], .. bytes[(at + length)..]];
            case 1: // duplicate
                log.Add($"duplicate {length} bytes at {at}");
                return [.. bytes[..(at + length)], .. bytes[at..(at + length)], .. bytes[(at + length)..]];
            case 2: // random bytes in
                var noise = new byte[random.Next(1, 32)];
                random.NextBytes(noise);
                log.Add($"insert {noise.Length} random bytes at {at}");
                return [.. bytes[..at], .. noise, .. bytes[at..]];
            default: // a chunk from elsewhere
                int from = random.Next(bytes.Length + 1);
                int n = Math.Min(length, bytes.Length - from);
                log.Add($"copy {n} bytes from {from} to {at}");
                return [.. bytes[..at], .. bytes[from..(from + n)], .. bytes[at..]];
        }
    }

    // ---- JSON ------------------------------------------------------------------------------------------------------

    // A JSON scalar or the start of a container, by position (a lexical match is enough for mutation).
    static readonly Regex JsonToken = new("\"(?:[^\"\\\\]|\\\\.)*\"|-?\\d+(?:\\.\\d+)?(?:[eE][+-]?\\d+)?|true|false|null|\\[|\\{", RegexOptions.CultureInvariant);

    string EditJson(string json, List<string> log)
    {
        var tokens = JsonToken.Matches(json);
        if (tokens.Count == 0) return json;
        var token = tokens[random.Next(tokens.Count)];
        switch (random.Next(6))
        {
            case 0 or 1:
                return Replace(json, token, Numbers[random.Next(Numbers.Length)], log);
            case 2:
                return Replace(json, token, Strings[random.Next(Strings.Length)], log);
            case 3:
                return Replace(json, token, Values[random.Next(Values.Length)], log);
            case 4: // a whole "key": value member removed (up to the next comma)
            {
                int end = json.IndexOf(',', token.Index);
                if (end < 0) return json;
                log.Add($"delete JSON text [{token.Index}, {end + 1})");
                return json.Remove(token.Index, end + 1 - token.Index);
            }
            default: // a member duplicated with another value (JSON allows repeated keys)
            {
                int brace = json.IndexOf('{');
                if (brace < 0 || !token.Value.StartsWith('"')) return json;
                var member = $"{token.Value}: {Numbers[random.Next(Numbers.Length)]}, ";
                log.Add($"insert member {Shorten(member)} after the first '{{'");
                return json.Insert(brace + 1, member);
            }
        }
    }

    static string Replace(string text, Match token, string value, List<string> log)
    {
        // A container is replaced whole: from its bracket to the matching one (brackets inside strings are rare
        // enough in these files to ignore).
        int end = token.Index + token.Length;
        if (token.Value is "[" or "{")
        {
            char open = token.Value[0], close = open == '[' ? ']' : '}';
            int depth = 0;
            for (int i = token.Index; i < text.Length; i++)
            {
                if (text[i] == open) depth++;
                else if (text[i] == close && --depth == 0) { end = i + 1; break; }
            }
        }
        log.Add($"JSON {Shorten(text[token.Index..end])} at {token.Index} -> {Shorten(value)}");
        return text[..token.Index] + value + text[end..];
    }

    // ---- lines (vocab.txt, TSV) ----------------------------------------------------------------------------------

    string EditLines(string text, List<string> log)
    {
        var lines = text.Split('\n').ToList();
        int i = random.Next(lines.Count);
        switch (random.Next(9))
        {
            case 0:
                log.Add($"delete line {i + 1}");
                lines.RemoveAt(i);
                break;
            case 1:
                log.Add($"duplicate line {i + 1}");
                lines.Insert(i, lines[i]);
                break;
            case 2:
                int j = random.Next(lines.Count);
                log.Add($"swap lines {i + 1} and {j + 1}");
                (lines[i], lines[j]) = (lines[j], lines[i]);
                break;
            case 3:
                log.Add($"line {i + 1} emptied");
                lines[i] = "";
                break;
            case 4: // a field of a tab-separated line
            {
                var fields = lines[i].Split('\t');
                int f = random.Next(fields.Length);
                var value = FieldValues[random.Next(FieldValues.Length)];
                log.Add($"line {i + 1} field {f + 1} = {Shorten(value)}");
                fields[f] = value;
                lines[i] = string.Join('\t', fields);
                break;
            }
            case 5:
                log.Add($"line {i + 1}: a tab added");
                lines[i] = lines[i].Insert(random.Next(lines[i].Length + 1), "\t");
                break;
            case 6:
                log.Add($"line {i + 1}: tabs removed");
                lines[i] = lines[i].Replace("\t", " ");
                break;
            case 7:
                log.Add($"line {i + 1}: \\r inserted");
                lines[i] = lines[i].Insert(random.Next(lines[i].Length + 1), "\r");
                break;
            default:
                var line = FieldValues[random.Next(FieldValues.Length)];
                log.Add($"line {Shorten(line)} inserted at {i + 1}");
                lines.Insert(i, line);
                break;
        }
        return string.Join('\n', lines);
    }

    static readonly string[] FieldValues =
    [
        "", "0", "1", "2", "-1", "1.5", "1e400", "NaN", "equivalent", "not_equivalent", "\"", "\"\"", "\"a\tb\"", "[UNK]",
        "[CLS]", "[SEP]", "[PAD]", "[MASK]", "##", "#1 String", "Quality", " ", "\uFEFF", "\u0000", "\u00e9", "\ud83d\ude00",
        "\u200b", "\u3000", new string('x', 100_000), new string('a', 300) + " " + new string('b', 300),
    ];

    // ---- safetensors ------------------------------------------------------------------------------------------------

    byte[] EditSafeTensors(byte[] bytes, List<string> log)
    {
        if (bytes.Length < 8) return FlipBits(bytes, log);
        var copy = (byte[])bytes.Clone();
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(copy);
        if (random.Next(3) == 0 || n > (ulong)(copy.Length - 8))
        {
            var value = random.Next(3) switch
            {
                0 => HeaderLengths[random.Next(HeaderLengths.Length)],
                1 => n + (ulong)random.Next(1, 9),
                _ => n - (ulong)Math.Min((long)n, random.Next(1, 9)),
            };
            log.Add($"header length {n} -> {value}");
            BinaryPrimitives.WriteUInt64LittleEndian(copy, value);
            return copy;
        }
        // Edit the JSON header (a tensor's shape or offsets, or any value), then (usually) fix the length prefix so
        // the edit reaches the validator.
        var header = Encoding.UTF8.GetString(copy, 8, (int)n);
        var edited = Encoding.UTF8.GetBytes(random.Next(2) == 0 ? EditShapeOrOffsets(header, log) : EditJson(header, log));
        bool fix = random.Next(4) != 0;
        if (!fix) log.Add("length prefix left as it was");
        var result = new byte[8 + edited.Length + (copy.Length - 8 - (int)n)];
        BinaryPrimitives.WriteUInt64LittleEndian(result, fix ? (ulong)edited.Length : n);
        edited.CopyTo(result, 8);
        copy.AsSpan(8 + (int)n).CopyTo(result.AsSpan(8 + edited.Length));
        return result;
    }

    static readonly Regex ShapeOrOffsets = new("\"(shape|data_offsets)\":\\[[^\\]]*\\]", RegexOptions.CultureInvariant);

    static readonly string[] Shapes =
    [
        "[]", "[0]", "[-1]", "[1000000000000]", "[0, 4611686018427387904, 4611686018427387904]", "[4611686018427387904, 4611686018427387904]",
        "[4294967296, 4294967296]", "[0, 9223372036854775807]", "[3, 0, 9223372036854775807, 9223372036854775807]",
        "[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]",
        "[2305843009213693952]", "[1.0]", "[\"3\"]", "[2, 3]", "[6]", "[3, 2]",
    ];

    static readonly string[] Offsets =
    [
        "[0, 0]", "[0, 24]", "[24, 0]", "[0, 1000000000000]", "[18446744073709551615, 0]", "[9223372036854775807, 9223372036854775807]",
        "[-1, 23]", "[0]", "[0, 24, 48]", "[4, 28]", "[1e2, 1e3]",
    ];

    string EditShapeOrOffsets(string header, List<string> log)
    {
        var found = ShapeOrOffsets.Matches(header);
        if (found.Count == 0) return EditJson(header, log);
        var m = found[random.Next(found.Count)];
        bool shape = m.Groups[1].Value == "shape";
        var value = shape ? Shapes[random.Next(Shapes.Length)] : Offsets[random.Next(Offsets.Length)];
        log.Add($"{m.Value} at {m.Index} -> {Shorten(value)}");
        return header[..m.Index] + $"\"{m.Groups[1].Value}\":{value}" + header[(m.Index + m.Length)..];
    }

    // ---- helpers ----------------------------------------------------------------------------------------------------

    static string Text(byte[] bytes) => Encoding.UTF8.GetString(bytes); // invalid bytes become U+FFFD: fine for mutation
    static byte[] Encode(string text) => Encoding.UTF8.GetBytes(text);
    static string Shorten(string s) => s.Length <= 40 ? s.Replace("\n", "\\n").Replace("\t", "\\t") : s[..20] + $"...({s.Length} chars)";
}
