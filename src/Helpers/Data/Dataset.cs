using System.Collections;
using System.Collections.Concurrent;
using System.Collections.ObjectModel;
using System.Text;

namespace FineTuning.Data;

/// <summary>
/// An immutable, columnar table of examples, like HF <c>datasets.Dataset</c>: every column is one typed list
/// (<c>List&lt;string&gt;</c>, <c>List&lt;long&gt;</c>, <c>List&lt;int&gt;</c>, <c>List&lt;float&gt;</c>,
/// <c>List&lt;double&gt;</c>, <c>List&lt;int[]&gt;</c> for token ids) described by <see cref="Features"/>.
/// Every operation (<see cref="Map(Func{DatasetBatch, IReadOnlyDictionary{string, IList}}, bool, int, IEnumerable{string}?)"/>,
/// <see cref="Select"/>, <see cref="Shuffle"/>, ...) returns a new dataset; unchanged columns are shared, not copied.
/// </summary>
public sealed class Dataset
{
    readonly Dictionary<string, IList> columns;
    readonly ConcurrentDictionary<(string, Type), object> converted = new();

    /// <summary>
    /// A dataset from columns (HF <c>Dataset.from_dict</c>). Each column must be a typed list; all must have the
    /// same length. <paramref name="features"/> (optional) gives types such as <see cref="ClassLabel"/> and the
    /// column order; otherwise types are inferred from the list types, in the dictionary's order.
    /// </summary>
    public static Dataset FromColumns(IReadOnlyDictionary<string, IList> columns, Features? features = null, DatasetInfo? info = null)
    {
        features ??= new Features(columns.Select(c => KeyValuePair.Create(c.Key, FeatureType.Infer(ColumnLists.ElementType(c.Value)))));
        var copy = new Dictionary<string, IList>(StringComparer.Ordinal);
        foreach (var (name, feature) in features)
        {
            if (!columns.TryGetValue(name, out var list))
                throw new ArgumentException($"features name column '{name}', which is not among the columns: {string.Join(", ", columns.Keys)}");
            var copied = ColumnLists.New(ColumnLists.ElementType(list), list.Count);
            ColumnLists.AddRange(copied, list);
            copy[name] = copied;
        }
        return new Dataset(features, copy, info ?? DatasetInfo.Empty);
    }

    internal Dataset(Features features, Dictionary<string, IList> columns, DatasetInfo info)
    {
        Features = features;
        this.columns = columns;
        Info = info;
        ColumnNames = new ReadOnlyCollection<string>(features.Keys.ToArray());
        int? rows = null;
        foreach (var (name, feature) in features)
        {
            if (!columns.TryGetValue(name, out var list)) throw new ArgumentException($"no data for column '{name}'");
            var type = ColumnLists.ElementType(list);
            if (type != feature.ClrType)
                throw new ArgumentException($"column '{name}' holds {type.Name} values but its feature {feature} needs {feature.ClrType.Name}");
            if (rows is { } r && r != list.Count)
                throw new ArgumentException($"column '{name}' has {list.Count} rows, the others {r}");
            rows = list.Count;
        }
        Count = rows ?? 0;
    }

    /// <summary>Number of rows (HF <c>num_rows</c>).</summary>
    public int Count { get; }

    /// <summary>Column names, in order.</summary>
    public IReadOnlyList<string> ColumnNames { get; }

    /// <summary>Column types, in order.</summary>
    public Features Features { get; }

    /// <summary>Source files and skipped rows.</summary>
    public DatasetInfo Info { get; }

    /// <summary>Row <paramref name="index"/> as column name → value.</summary>
    public IReadOnlyDictionary<string, object?> this[int index] => (uint)index < (uint)Count
        ? new DatasetRow(this, index)
        : throw new ArgumentOutOfRangeException(nameof(index), index, $"the dataset has {Count} rows");

    /// <summary>A column as boxed values (HF <c>dataset["label"]</c>); <see cref="Column{T}"/> gives it typed.</summary>
    public IReadOnlyList<object?> this[string column] => new BoxedColumn(RawColumn(column), 0, Count);

    /// <summary>
    /// A column, typed: <c>Column&lt;string&gt;("sentence1")</c>, <c>Column&lt;long&gt;("label")</c>,
    /// <c>Column&lt;int[]&gt;("input_ids")</c>. int32 columns may also be read as long, float32 as double.
    /// </summary>
    public IReadOnlyList<T> Column<T>(string name)
    {
        var list = RawColumn(name);
        if (list is List<T> typed) return typed.AsReadOnly();
        return (IReadOnlyList<T>)converted.GetOrAdd((name, typeof(T)), _ => list switch
        {
            List<int> ints when typeof(T) == typeof(long) => ints.Select(i => (long)i).ToList().AsReadOnly(),
            List<float> floats when typeof(T) == typeof(double) => floats.Select(f => (double)f).ToList().AsReadOnly(),
            _ => throw new InvalidCastException(
                $"column '{name}' is {Features[name]} ({ColumnLists.ElementType(list).Name} values), not {typeof(T).Name}"),
        });
    }

    internal IList RawColumn(string name) => columns.TryGetValue(name, out var list)
        ? list
        : throw new KeyNotFoundException($"no column '{name}'; columns: {string.Join(", ", ColumnNames)}");

    void CheckColumns(IEnumerable<string> names)
    {
        foreach (var name in names) RawColumn(name);
    }

    // ---- Map -------------------------------------------------------------------------------------------------

    /// <summary>
    /// HF <c>map(fn)</c>, one row at a time: <paramref name="fn"/> gets a row and returns the columns to add or
    /// replace. Types are inferred from the returned values (string, int, long, float, double, bool, int[], long[];
    /// ints and longs mixed give int64, numbers mixed with floats give float64). Slow path: prefer the batched form.
    /// </summary>
    public Dataset Map(Func<IReadOnlyDictionary<string, object?>, IReadOnlyDictionary<string, object?>> fn,
        IEnumerable<string>? removeColumns = null)
    {
        var remove = removeColumns?.ToArray() ?? [];
        CheckColumns(remove);
        var outputs = new Dictionary<string, List<object?>>(StringComparer.Ordinal);
        var order = new List<string>();
        for (int i = 0; i < Count; i++)
        {
            var result = fn(new DatasetRow(this, i));
            foreach (var (key, value) in result)
            {
                if (!outputs.TryGetValue(key, out var values))
                {
                    if (i > 0) throw new ArgumentException($"Map: row {i} returned column '{key}', which earlier rows did not");
                    outputs[key] = values = new List<object?>(Count);
                    order.Add(key);
                }
                values.Add(value);
            }
            foreach (var key in order)
                if (outputs[key].Count != i + 1) throw new ArgumentException($"Map: row {i} did not return column '{key}'");
        }
        var typed = order.ToDictionary(k => k, k => Typed(k, outputs[k]));
        return WithColumns(typed, remove, Count);
    }

    static IList Typed(string name, List<object?> values)
    {
        var types = values.Where(v => v is not null).Select(v => v!.GetType()).Distinct().ToList();
        Type type = types.Count switch
        {
            0 => typeof(string),
            1 => types[0],
            _ when types.All(t => t == typeof(int) || t == typeof(long)) => typeof(long),
            _ when types.All(t => t == typeof(int) || t == typeof(long) || t == typeof(float) || t == typeof(double)) => typeof(double),
            _ => throw new ArgumentException($"Map: column '{name}' mixes {string.Join(", ", types.Select(t => t.Name))}"),
        };
        FeatureType.Infer(type); // throws for unsupported types
        if (type != typeof(string) && type.IsValueType && values.Contains(null))
            throw new ArgumentException($"Map: column '{name}' holds {type.Name} values and null");
        var list = ColumnLists.New(type, values.Count);
        foreach (var v in values) list.Add(v is null || v.GetType() == type ? v : Convert.ChangeType(v, type, System.Globalization.CultureInfo.InvariantCulture));
        return list;
    }

    /// <summary>
    /// HF <c>map(fn, batched=True, batch_size=1000, remove_columns=[...])</c>: <paramref name="fn"/> gets
    /// <see cref="DatasetBatch"/>es of up to <paramref name="batchSize"/> rows and returns columns (typed lists such
    /// as a tokenizer's <c>BatchEncoding</c>) that are added, or replace columns of the same name.
    /// A <c>List&lt;int[]&gt;</c> becomes a <c>Sequence(int32)</c> column; a replaced column keeps its feature
    /// (e.g. ClassLabel) when the new values have the same type. <paramref name="removeColumns"/> are dropped from
    /// the result. Returned lists must have one item per batch row, unless every input column is removed or
    /// replaced (then a batch may grow or shrink).
    /// </summary>
    public Dataset Map(Func<DatasetBatch, IReadOnlyDictionary<string, IList>> fn, bool batched, int batchSize = 1000,
        IEnumerable<string>? removeColumns = null)
    {
        if (!batched)
            return Map(row => (IReadOnlyDictionary<string, object?>)fn(new DatasetBatch(this, ((DatasetRow)row).Index, 1))
                .ToDictionary(p => p.Key, p => p.Value.Count == 1 ? p.Value[0] : throw new ArgumentException(
                    $"Map: column '{p.Key}' returned {p.Value.Count} values for one row")), removeColumns);
        if (batchSize <= 0) batchSize = Math.Max(Count, 1); // HF: batch_size <= 0 or None = whole dataset
        var remove = removeColumns?.ToArray() ?? [];
        CheckColumns(remove);
        Dictionary<string, IList>? outputs = null;
        int produced = 0;
        int start = 0;
        do // at least once: an empty dataset still gets the new columns (HF calls fn on an empty batch too)
        {
            int n = Math.Min(batchSize, Count - start);
            var result = fn(new DatasetBatch(this, start, n));
            if (outputs is null)
            {
                outputs = new Dictionary<string, IList>(StringComparer.Ordinal);
                foreach (var (key, list) in result)
                {
                    var type = ColumnLists.ElementType(list);
                    FeatureType.Infer(type);
                    outputs[key] = ColumnLists.New(type, Count);
                }
            }
            int? batchRows = null;
            foreach (var (key, list) in result)
            {
                if (!outputs.TryGetValue(key, out var target))
                    throw new ArgumentException($"Map: the batch at row {start} returned column '{key}', which the first batch did not");
                if (ColumnLists.ElementType(list) != ColumnLists.ElementType(target))
                    throw new ArgumentException($"Map: column '{key}' is {ColumnLists.ElementType(target).Name} in the first batch, {ColumnLists.ElementType(list).Name} in the batch at row {start}");
                if (batchRows is { } b && b != list.Count)
                    throw new ArgumentException($"Map: the batch at row {start} returned columns of different lengths ({b} and {list.Count} for '{key}')");
                batchRows = list.Count;
                ColumnLists.AddRange(target, list);
            }
            if (result.Count != outputs.Count)
                throw new ArgumentException($"Map: the batch at row {start} returned {result.Count} columns, the first batch {outputs.Count}");
            produced += batchRows ?? n;
            start += batchSize;
        }
        while (start < Count);
        return WithColumns(outputs ?? new Dictionary<string, IList>(), remove, produced);
    }

    Dataset WithColumns(Dictionary<string, IList> outputs, string[] remove, int rows)
    {
        var kept = ColumnNames.Where(c => !remove.Contains(c) && !outputs.ContainsKey(c)).ToList();
        if (rows != Count && kept.Count > 0)
            throw new ArgumentException($"Map returned {rows} rows for {Count}; the column lengths must match unless every " +
                $"input column is removed or replaced (still kept: {string.Join(", ", kept)}; pass removeColumns)");
        var features = new List<KeyValuePair<string, FeatureType>>();
        var data = new Dictionary<string, IList>(StringComparer.Ordinal);
        foreach (var name in ColumnNames)
        {
            if (outputs.TryGetValue(name, out var list))
            {
                var type = ColumnLists.ElementType(list);
                features.Add(KeyValuePair.Create(name, Features[name].ClrType == type ? Features[name] : FeatureType.Infer(type)));
                data[name] = list;
            }
            else if (!remove.Contains(name))
            {
                features.Add(KeyValuePair.Create(name, Features[name]));
                data[name] = columns[name];
            }
        }
        foreach (var (name, list) in outputs)
            if (!columns.ContainsKey(name))
            {
                features.Add(KeyValuePair.Create(name, FeatureType.Infer(ColumnLists.ElementType(list))));
                data[name] = list;
            }
        // A column both returned and listed in removeColumns is removed (HF removes after the update).
        foreach (var name in remove.Where(outputs.ContainsKey))
        {
            data.Remove(name);
            features.RemoveAll(p => p.Key == name);
        }
        // Rows mapped into another number of rows no longer start on the lines recorded.
        return new Dataset(new Features(features), data, data.Values.FirstOrDefault()?.Count == Count ? Info : Info with { Lines = null });
    }

    // ---- Column operations -------------------------------------------------------------------------------------

    /// <summary>A dataset without these columns (HF <c>remove_columns</c>).</summary>
    public Dataset RemoveColumns(params string[] names)
    {
        CheckColumns(names);
        return new Dataset(new Features(Features.Where(f => !names.Contains(f.Key))),
            columns.Where(c => !names.Contains(c.Key)).ToDictionary(c => c.Key, c => c.Value, StringComparer.Ordinal), Info);
    }

    /// <summary>A dataset with column <paramref name="oldName"/> called <paramref name="newName"/>, in the same place.</summary>
    public Dataset RenameColumn(string oldName, string newName)
    {
        RawColumn(oldName);
        if (string.IsNullOrEmpty(newName)) throw new ArgumentException("the new column name is empty", nameof(newName));
        if (oldName != newName && columns.ContainsKey(newName))
            throw new ArgumentException($"cannot rename '{oldName}' to '{newName}': that column exists; columns: {string.Join(", ", ColumnNames)}");
        return new Dataset(new Features(Features.Select(f => f.Key == oldName ? KeyValuePair.Create(newName, f.Value) : f)),
            columns.ToDictionary(c => c.Key == oldName ? newName : c.Key, c => c.Value, StringComparer.Ordinal), Info);
    }

    /// <summary>
    /// HF <c>class_encode_column</c>: a string (or integer) column becomes a <see cref="ClassLabel"/> whose names are
    /// its sorted distinct values (ordinal order, as Python sorts; integers are sorted as strings, like HF).
    /// A ClassLabel column is returned unchanged.
    /// </summary>
    public Dataset ClassEncodeColumn(string column) =>
        Features[column] is ClassLabel ? this : CastColumn(column, new ClassLabel(DistinctNames(column).Order(StringComparer.Ordinal)));

    internal IEnumerable<string> DistinctNames(string column) =>
        this[column].Where(v => v is not null).Select(v => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture)!).Distinct();

    /// <summary>
    /// Column <paramref name="column"/> as a <see cref="ClassLabel"/>: string values must be names (or integer
    /// strings in range), integer values must be in [0, NumClasses) or -1.
    /// </summary>
    public Dataset CastColumn(string column, ClassLabel label)
    {
        var source = RawColumn(column);
        var ids = new List<long>(Count);
        for (int i = 0; i < Count; i++)
        {
            object? v = source[i];
            long id = v switch
            {
                string s => label.TryStr2Int(s, out int k) ? k : long.TryParse(s, out long n) ? n
                    : throw new ArgumentException($"row {i}, column '{column}': '{s}' is not one of {label}"),
                int n => n,
                long n => n,
                _ => throw new ArgumentException($"row {i}, column '{column}': {v ?? "null"} cannot be a class label"),
            };
            if (id < -1 || id >= label.NumClasses)
                throw new ArgumentException($"row {i}, column '{column}': label {id} is out of range [0, {label.NumClasses})");
            ids.Add(id);
        }
        var data = new Dictionary<string, IList>(columns, StringComparer.Ordinal) { [column] = ids };
        return new Dataset(new Features(Features.Select(f => f.Key == column ? KeyValuePair.Create(column, (FeatureType)label) : f)), data, Info);
    }

    // ---- Row operations ----------------------------------------------------------------------------------------

    /// <summary>The rows at <paramref name="indices"/>, in that order (HF <c>select</c>); indices may repeat.</summary>
    public Dataset Select(IEnumerable<int> indices)
    {
        var idx = indices as IReadOnlyList<int> ?? indices.ToArray();
        return new Dataset(Features, columns.ToDictionary(c => c.Key, c => ColumnLists.Gather(c.Value, idx), StringComparer.Ordinal),
                           Info.Lines is { } lines ? Info with { Lines = idx.Select(i => lines[i]).ToArray() } : Info);
    }

    /// <summary>
    /// The rows in a random order fixed by <paramref name="seed"/>: row i of the result is row p[i], with
    /// p = <c>torch.randperm(Count, generator=torch.Generator().manual_seed(seed))</c> — the same on every run and
    /// machine, and the same as PyTorch's. (HF's own shuffle draws from numpy, so orders differ from HF's.)
    /// </summary>
    public Dataset Shuffle(int seed) => Select(Samplers.Random(Count, seed));

    /// <summary>The rows for which <paramref name="predicate"/> is true (HF <c>filter</c>), in order.</summary>
    public Dataset Filter(Func<IReadOnlyDictionary<string, object?>, bool> predicate)
    {
        var keep = new List<int>();
        for (int i = 0; i < Count; i++)
            if (predicate(new DatasetRow(this, i))) keep.Add(i);
        return Select(keep);
    }

    /// <summary>
    /// HF <c>train_test_split(test_size, seed=seed)</c> with a torch permutation p of the rows: "test" gets
    /// p[0 .. nTest), "train" the rest, where nTest = ceil(testSize × Count) for a fraction in (0, 1), or
    /// testSize itself when it is a whole number ≥ 1.
    /// </summary>
    public DatasetDict TrainTestSplit(double testSize, int seed)
    {
        int nTest = testSize switch
        {
            > 0 and < 1 => (int)Math.Ceiling(testSize * Count),
            >= 1 when testSize == Math.Floor(testSize) && testSize < Count => (int)testSize,
            _ => throw new ArgumentOutOfRangeException(nameof(testSize), testSize,
                $"testSize must be a fraction in (0, 1) or a whole number of rows in [1, {Count})"),
        };
        if (nTest >= Count)
            throw new ArgumentOutOfRangeException(nameof(testSize), testSize, $"the test split would take all {Count} rows");
        var p = Samplers.Random(Count, seed);
        return new DatasetDict(new Dictionary<string, Dataset>
        {
            ["train"] = Select(new ArraySegment<int>(p, nTest, Count - nTest)),
            ["test"] = Select(new ArraySegment<int>(p, 0, nTest)),
        });
    }

    /// <summary>As HF prints it: <c>Dataset({\n    features: ['sentence1', ...],\n    num_rows: 3668\n})</c>.</summary>
    public override string ToString() => new StringBuilder("Dataset({\n")
        .Append("    features: [").Append(string.Join(", ", ColumnNames.Select(FeatureType.PyString))).Append("],\n")
        .Append("    num_rows: ").Append(Count).Append("\n})").ToString();
}
