using System.Collections;
using System.Globalization;
using System.Text.Json;

namespace FineTuning.Data;

/// <summary>Counts (and logs) bad rows when the loader may skip them; otherwise lets their exception through.</summary>
internal sealed class BadRows(bool skip)
{
    public int Count { get; private set; }

    /// <summary>For <c>catch (DatasetFormatException e) when (bad.Skip(e))</c>: true (row skipped) or false (rethrow).</summary>
    public bool Skip(DatasetFormatException e)
    {
        if (!skip) return false;
        Count++;
        Logging.Warning($"skipped bad row: {e.Message}");
        return true;
    }
}

/// <summary>Rows read from one file, before typing: a cell is a string, long, double, bool, long[] or null.</summary>
internal sealed class RawTable(string path, List<string> columns)
{
    public string Path { get; } = path;
    public List<string> Columns { get; } = columns;
    public List<int> Lines { get; } = [];
    public List<object?[]> Rows { get; } = [];

    public int Index(string column, string why) => Columns.IndexOf(column) is var i and >= 0
        ? i
        : throw new DatasetFormatException(Path, null, column,
            $"no column '{column}' ({why}); the header has {Columns.Count} column(s): {string.Join(", ", Columns.Select(c => $"'{c}'"))}");
}

/// <summary>The "csv", "tsv" and "json" loaders for the user's own files (header row / one object per line).</summary>
internal static class UserFiles
{
    public static RawTable ReadDelimited(string path, char delimiter, bool quoting, BadRows bad)
    {
        var lines = TextFile.ReadLines(path);
        using var records = DelimitedReader.Read(lines, delimiter, quoting).GetEnumerator();
        records.MoveNext(); // ReadLines guarantees a non-blank line
        if (records.Current.Error is { } headerError) throw new DatasetFormatException(path, records.Current.Line, null, "header: " + headerError);
        var header = records.Current.Fields.Select(h => h.Trim()).ToList();
        for (int i = 0; i < header.Count; i++)
        {
            if (header[i].Length == 0)
                throw new DatasetFormatException(path, records.Current.Line, null, $"header field {i + 1} is empty; every column needs a name");
            if (header.IndexOf(header[i]) != i)
                throw new DatasetFormatException(path, records.Current.Line, header[i], "the header names this column twice");
        }
        var table = new RawTable(path, header);
        while (true)
        {
            try
            {
                if (!records.MoveNext()) break;
                var r = records.Current;
                if (r.Error is not null) throw new DatasetFormatException(path, r.Line, null, r.Error);
                if (r.Fields.Length != header.Count)
                    throw new DatasetFormatException(path, r.Line, null,
                        $"{r.Fields.Length} field(s), but the header has {header.Count} ({string.Join(", ", header)}), " +
                        $"split at '{DelimitedReader.Show(delimiter)}'" + (quoting ? "" : " without quoting"));
                table.Lines.Add(r.Line);
                table.Rows.Add(r.Fields.Select(f => (object?)f).ToArray());
            }
            catch (DatasetFormatException e) when (bad.Skip(e)) { }
        }
        // Text cells become numbers when the whole column parses (pandas' inference, simplified).
        for (int c = 0; c < header.Count; c++)
        {
            var cells = table.Rows.Select(r => (string)r[c]!).ToList();
            if (cells.Count == 0) continue;
            if (cells.All(s => long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _)))
                for (int i = 0; i < cells.Count; i++) table.Rows[i][c] = long.Parse(cells[i], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            else if (cells.All(s => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out _)))
                for (int i = 0; i < cells.Count; i++) table.Rows[i][c] = double.Parse(cells[i], NumberStyles.Float, CultureInfo.InvariantCulture);
        }
        return table;
    }

    public static RawTable ReadJsonLines(string path, BadRows bad)
    {
        var lines = TextFile.ReadLines(path);
        var columns = new List<string>();
        var parsed = new List<(int Line, Dictionary<string, object?> Row)>();
        foreach (var line in lines)
        {
            if (string.IsNullOrWhiteSpace(line.Text)) continue;
            try
            {
                parsed.Add((line.Number, ParseObject(path, line)));
            }
            catch (DatasetFormatException e) when (bad.Skip(e)) { }
        }
        foreach (var (_, row) in parsed)
            foreach (var key in row.Keys)
                if (!columns.Contains(key)) columns.Add(key);
        var table = new RawTable(path, columns);
        foreach (var (line, row) in parsed)
        {
            table.Lines.Add(line);
            table.Rows.Add(columns.Select(c => row.GetValueOrDefault(c)).ToArray());
        }
        return table;
    }

    static Dictionary<string, object?> ParseObject(string path, TextLine line)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(line.Text);
        }
        catch (JsonException e)
        {
            throw new DatasetFormatException(path, line.Number, null,
                $"invalid JSON ({e.Message.Split(" LineNumber")[0].TrimEnd('.', ' ')}, at character {e.BytePositionInLine + 1}); each line must be one JSON object", e);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new DatasetFormatException(path, line.Number, null, $"a JSON {doc.RootElement.ValueKind.ToString().ToLowerInvariant()}, not an object; each line must be one JSON object");
            if (PythonJson.FindUnreadableString(doc.RootElement) is { } unreadable)
                throw new DatasetFormatException(path, line.Number, null, PythonJson.UnreadableStringMessage(unreadable));
            var row = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (var p in doc.RootElement.EnumerateObject())
                row[p.Name] = p.Value.ValueKind switch
                {
                    JsonValueKind.String => p.Value.GetString(),
                    JsonValueKind.Number => p.Value.TryGetInt64(out long l) ? (object)l : p.Value.GetDouble(),
                    JsonValueKind.True => true,
                    JsonValueKind.False => false,
                    JsonValueKind.Null => null,
                    JsonValueKind.Array when p.Value.EnumerateArray().All(x => x.ValueKind == JsonValueKind.Number && x.TryGetInt64(out _))
                        => p.Value.EnumerateArray().Select(x => x.GetInt64()).ToArray(),
                    _ => throw new DatasetFormatException(path, line.Number, p.Name,
                        $"a JSON {p.Value.ValueKind.ToString().ToLowerInvariant()} is not supported (use strings, numbers, booleans or lists of integers)"),
                };
            return row;
        }
    }

    /// <summary>
    /// Turns the label column into class ids: a cell is a class name or an integer in [0, NumClasses) (-1 = none).
    /// Bad rows are skipped (and counted) or raise an error naming the file, line and column.
    /// </summary>
    public static void EncodeLabels(RawTable table, string column, ClassLabel label, BadRows bad)
    {
        int c = table.Index(column, "the label column");
        for (int i = 0; i < table.Rows.Count; i++)
        {
            try
            {
                table.Rows[i][c] = LabelId(table.Path, table.Lines[i], column, table.Rows[i][c], label);
            }
            catch (DatasetFormatException e) when (bad.Skip(e))
            {
                table.Rows.RemoveAt(i);
                table.Lines.RemoveAt(i);
                i--;
            }
        }
    }

    internal static long LabelId(string path, int line, string column, object? cell, ClassLabel label)
    {
        long id = cell switch
        {
            string s when label.TryStr2Int(s, out int k) => k,
            string s when long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n) => n,
            long n when label.TryStr2Int(n.ToString(CultureInfo.InvariantCulture), out int k) => k,
            long n => n,
            null => throw new DatasetFormatException(path, line, column, $"the label is missing; expected one of {string.Join(", ", label.Names)} or 0..{label.NumClasses - 1}"),
            _ => throw new DatasetFormatException(path, line, column,
                $"label '{Convert.ToString(cell, CultureInfo.InvariantCulture)}' is neither a class name ({string.Join(", ", label.Names)}) nor an integer"),
        };
        if (id < -1 || id >= label.NumClasses)
            throw new DatasetFormatException(path, line, column, $"label {id} is out of range: {label.NumClasses} classes ({string.Join(", ", label.Names)}) take 0..{label.NumClasses - 1} (-1 = no label)");
        return id;
    }

    /// <summary>A typed dataset from a raw table; <paramref name="fixedFeatures"/> overrides inference per column.</summary>
    public static Dataset ToDataset(RawTable table, IReadOnlyDictionary<string, FeatureType> fixedFeatures, int skipped)
    {
        var features = new List<KeyValuePair<string, FeatureType>>();
        var data = new Dictionary<string, IList>(StringComparer.Ordinal);
        for (int c = 0; c < table.Columns.Count; c++)
        {
            string name = table.Columns[c];
            var (feature, list) = fixedFeatures.TryGetValue(name, out var f)
                ? (f, Column(table, c, f.ClrType))
                : InferColumn(table, c);
            features.Add(KeyValuePair.Create(name, feature));
            data[name] = list;
        }
        return new Dataset(new Features(features), data, new DatasetInfo([table.Path], skipped) { Lines = table.Lines.ToArray() });
    }

    static (FeatureType, IList) InferColumn(RawTable table, int c)
    {
        Type? type = null;
        for (int i = 0; i < table.Rows.Count; i++)
        {
            var cell = table.Rows[i][c];
            if (cell is null) continue;
            var t = cell.GetType();
            if (type is null || type == t) type = t;
            else if ((type == typeof(long) || type == typeof(double)) && (t == typeof(long) || t == typeof(double))) type = typeof(double);
            else
                throw new DatasetFormatException(table.Path, table.Lines[i], table.Columns[c],
                    $"a {Describe(t)} here, but a {Describe(type)} on an earlier line; a column holds one type");
        }
        type ??= typeof(string);
        return (FeatureType.Infer(type), Column(table, c, type));
    }

    static IList Column(RawTable table, int c, Type type)
    {
        var list = ColumnLists.New(type, table.Rows.Count);
        for (int i = 0; i < table.Rows.Count; i++)
        {
            var cell = table.Rows[i][c];
            if (cell is null && type.IsValueType)
                throw new DatasetFormatException(table.Path, table.Lines[i], table.Columns[c], $"the value is missing or null; a {Describe(type)} column needs one in every row");
            list.Add(cell is null || cell.GetType() == type ? cell : Convert.ChangeType(cell, type, CultureInfo.InvariantCulture));
        }
        return list;
    }

    static string Describe(Type t) =>
        t == typeof(string) ? "string" : t == typeof(long) ? "integer" : t == typeof(double) ? "number"
        : t == typeof(bool) ? "boolean" : t == typeof(long[]) ? "list of integers" : t.Name;
}
