using System.Collections;
using System.Text.Json;
using Parquet;
using Parquet.Schema;

namespace FineTuning.Data;

/// <summary>
/// Reads the parquet files the Hugging Face Hub stores datasets as (e.g. <c>nyu-mll/glue</c>'s
/// <c>mrpc/train-00000-of-00001.parquet</c>) with Parquet.Net. Flat columns of string, int32, int64, float,
/// double or bool; ClassLabel names are restored from the <c>huggingface</c> metadata HF writes, when present.
/// </summary>
internal static class ParquetFiles
{
    public static Dataset Read(string path) => ReadAsync(path).GetAwaiter().GetResult();

    static async Task<Dataset> ReadAsync(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"data file not found: {PathDisplay.WithFullPath(path)}", path);
        ParquetReader reader;
        try
        {
            reader = await ParquetReader.CreateAsync(path).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException or ArgumentException or InvalidOperationException)
        {
            throw new DatasetFormatException(path, null, null, $"not a readable parquet file ({e.Message})", e);
        }
        await using (reader.ConfigureAwait(false))
        {
            var fields = reader.Schema.GetDataFields();
            var columns = new Dictionary<string, IList>(StringComparer.Ordinal);
            var features = new List<KeyValuePair<string, FeatureType>>();
            var hfFeatures = HfFeatures(reader.CustomMetadata);
            foreach (var field in fields)
            {
                var type = IsText(field) ? typeof(string) : field.ClrType;
                if (field.IsArray || field.Path.Length > 1 || !IsSupported(type))
                    throw new DatasetFormatException(path, null, field.Name,
                        $"parquet column of type {type.Name}{(field.IsArray ? "[]" : "")} is not supported (flat string, int32, int64, float, double or bool columns only)");
                columns[field.Name] = ColumnLists.New(type, 0);
                FeatureType feature = hfFeatures.TryGetValue(field.Name, out var names) && type == typeof(long)
                    ? new ClassLabel(names)
                    : FeatureType.Infer(type);
                features.Add(KeyValuePair.Create(field.Name, feature));
            }
            long rowsBefore = 0;
            for (int g = 0; g < reader.RowGroupCount; g++)
            {
                using var group = reader.OpenRowGroupReader(g);
                int n = checked((int)group.RowCount);
                foreach (var field in fields)
                    ColumnLists.AddRange(columns[field.Name], await ReadColumn(path, group, field, n, rowsBefore).ConfigureAwait(false));
                rowsBefore += n;
            }
            // A ClassLabel value outside its names (HF writes -1 for "no label") would reach the loss as an id libtorch refuses.
            foreach (var (name, feature) in features)
                if (feature is ClassLabel label && columns[name] is List<long> ids)
                    for (int i = 0; i < ids.Count; i++)
                        if (ids[i] < -1 || ids[i] >= label.NumClasses)
                            throw new DatasetFormatException(path, null, name,
                                $"row {i + 1}: label {ids[i]} is out of range: {label.NumClasses} classes ({string.Join(", ", label.Names)}) take 0..{label.NumClasses - 1} (-1 = no label)");
            return new Dataset(new Features(features), columns, new DatasetInfo([path], 0));
        }
    }

    /// <summary>Parquet.Net 6 reports UTF-8 string columns as ReadOnlyMemory&lt;char&gt;; they are read as strings.</summary>
    static bool IsText(DataField field) => field.ClrType == typeof(string) || field.ClrType == typeof(ReadOnlyMemory<char>);

    static bool IsSupported(Type t) =>
        t == typeof(string) || t == typeof(int) || t == typeof(long) || t == typeof(float) || t == typeof(double) || t == typeof(bool);

    static async Task<IList> ReadColumn(string path, ParquetRowGroupReader group, DataField field, int n, long rowsBefore)
    {
        if (IsText(field))
        {
            var strings = new string?[n];
            await group.ReadAsync(field, strings.AsMemory()).ConfigureAwait(false);
            return strings;
        }
        return field.ClrType switch
        {
            var t when t == typeof(long) => await Numbers<long>(path, group, field, n, rowsBefore),
            var t when t == typeof(int) => await Numbers<int>(path, group, field, n, rowsBefore),
            var t when t == typeof(float) => await Numbers<float>(path, group, field, n, rowsBefore),
            var t when t == typeof(double) => await Numbers<double>(path, group, field, n, rowsBefore),
            _ => await Numbers<bool>(path, group, field, n, rowsBefore),
        };
    }

    static async Task<IList> Numbers<T>(string path, ParquetRowGroupReader group, DataField field, int n, long rowsBefore) where T : struct
    {
        if (!field.IsNullable)
        {
            var values = new T[n];
            await group.ReadAsync(field, values.AsMemory()).ConfigureAwait(false);
            return values;
        }
        var nullable = new T?[n];
        await group.ReadAsync(field, nullable.AsMemory()).ConfigureAwait(false);
        var result = new T[n];
        for (int i = 0; i < n; i++)
            result[i] = nullable[i] ?? throw new DatasetFormatException(path, null, field.Name,
                $"row {rowsBefore + i} (0-based) is null; a {typeof(T).Name} column needs a value in every row");
        return result;
    }

    /// <summary>Column → ClassLabel names from the <c>huggingface</c> key HF writes into parquet metadata.</summary>
    static Dictionary<string, string[]> HfFeatures(IReadOnlyDictionary<string, string>? metadata)
    {
        var result = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (metadata is null || !metadata.TryGetValue("huggingface", out var json)) return result;
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.TryGetProperty("info", out var info) && info.TryGetProperty("features", out var features)
                && features.ValueKind == JsonValueKind.Object)
                foreach (var f in features.EnumerateObject())
                    if (f.Value.ValueKind == JsonValueKind.Object && f.Value.TryGetProperty("_type", out var t) && t.GetString() == "ClassLabel"
                        && f.Value.TryGetProperty("names", out var names) && names.ValueKind == JsonValueKind.Array)
                        result[f.Name] = names.EnumerateArray().Select(x => x.GetString() ?? "").ToArray();
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException) { } // a hint only: a value of another type (or an unreadable string) is ignored
        return result;
    }
}
