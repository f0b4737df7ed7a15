using System.Text;

namespace FineTuning.Data;

/// <summary>One physical line of a text file: its 1-based number and its text (without the line break).</summary>
internal readonly record struct TextLine(int Number, string Text);

/// <summary>Reads a data file as lines of strict UTF-8 (a BOM is dropped; LF or CRLF line ends).</summary>
internal static class TextFile
{
    static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// The file's lines. Throws <see cref="FileNotFoundException"/> for a missing file and
    /// <see cref="DatasetFormatException"/> (with the line) for invalid UTF-8 or a file with no text at all.
    /// </summary>
    public static List<TextLine> ReadLines(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"data file not found: {PathDisplay.WithFullPath(path)}", path);
        byte[] bytes = File.ReadAllBytes(path);
        int start = bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0;
        var lines = new List<TextLine>();
        int number = 1;
        // 0x0A never occurs inside a multi-byte UTF-8 sequence, so lines can be split before decoding; decoding each
        // line on its own gives the exact line of an invalid byte.
        while (start < bytes.Length)
        {
            int end = Array.IndexOf(bytes, (byte)'\n', start);
            int next = end < 0 ? bytes.Length : end + 1;
            if (end < 0) end = bytes.Length;
            int length = end - start;
            if (length > 0 && bytes[start + length - 1] == '\r') length--;
            string text;
            try
            {
                text = Strict.GetString(bytes, start, length);
            }
            catch (DecoderFallbackException e)
            {
                int column = e.Index >= 0 ? e.Index + 1 : 0;
                throw new DatasetFormatException(path, number, null,
                    $"invalid UTF-8 (byte 0x{(e.BytesUnknown is { Length: > 0 } b ? b[0] : 0):X2}" +
                    (column > 0 ? $" at byte {column} of the line" : "") + "); save the file as UTF-8", e);
            }
            lines.Add(new TextLine(number++, text));
            start = next;
        }
        if (lines.All(l => string.IsNullOrWhiteSpace(l.Text)))
            throw new DatasetFormatException(path, null, null, "the file is empty (a header row is needed)");
        return lines;
    }
}

/// <summary>One record of a delimited file: the line it starts on and its fields.</summary>
/// <remarks>A record that cannot be split has <see cref="Error"/> set (and no fields) so the caller can skip it.</remarks>
internal sealed record DelimitedRecord(int Line, string[] Fields, string? Error = null);

/// <summary>
/// Splits delimited text (CSV, TSV) into records. With quoting (RFC 4180), a field that starts with <c>"</c> runs to
/// the next lone <c>"</c>; <c>""</c> inside it is one quote, and it may hold delimiters and line breaks (read back as
/// <c>\n</c>). Without quoting (GLUE's TSVs, which hold unbalanced quotes), every line is one record split at
/// each delimiter. Blank lines are skipped, as Python's csv readers and pandas do.
/// </summary>
internal static class DelimitedReader
{
    public static IEnumerable<DelimitedRecord> Read(List<TextLine> lines, char delimiter, bool quoting)
    {
        for (int i = 0; i < lines.Count; i++)
        {
            var line = lines[i];
            if (line.Text.Length == 0) continue;
            if (!quoting || line.Text.IndexOf('"') < 0)
            {
                yield return new DelimitedRecord(line.Number, line.Text.Split(delimiter));
                continue;
            }
            var fields = new List<string>();
            var field = new System.Text.StringBuilder();
            string text = line.Text;
            int pos = 0;
            int startLine = line.Number;
            string? error = null;
            while (true)
            {
                if (pos < text.Length && text[pos] == '"')
                {
                    // Quoted field, possibly spanning lines.
                    int quoteLine = lines[i].Number;
                    pos++;
                    while (true)
                    {
                        if (pos >= text.Length)
                        {
                            if (++i >= lines.Count)
                            {
                                yield return new DelimitedRecord(quoteLine, [],
                                    $"field {fields.Count + 1}: a quoted field is never closed (missing '\"'); double a quote inside a quoted field as \"\"");
                                yield break;
                            }
                            field.Append('\n');
                            text = lines[i].Text;
                            pos = 0;
                            continue;
                        }
                        char c = text[pos++];
                        if (c != '"') { field.Append(c); continue; }
                        if (pos < text.Length && text[pos] == '"') { field.Append('"'); pos++; continue; }
                        break;
                    }
                    if (pos < text.Length && text[pos] != delimiter)
                    {
                        error = $"field {fields.Count + 1}: '{text[pos]}' after a closing quote (expected '{Show(delimiter)}' or the end of the line)";
                        break;
                    }
                }
                else
                {
                    int end = text.IndexOf(delimiter, pos);
                    if (end < 0) end = text.Length;
                    field.Append(text, pos, end - pos);
                    pos = end;
                }
                fields.Add(field.ToString());
                field.Clear();
                if (pos >= text.Length) break;
                pos++; // the delimiter
                if (pos == text.Length) { fields.Add(""); break; }
            }
            yield return error is null ? new DelimitedRecord(startLine, fields.ToArray()) : new DelimitedRecord(startLine, [], error);
        }
    }

    internal static string Show(char delimiter) => delimiter == '\t' ? "\\t" : delimiter.ToString();
}
