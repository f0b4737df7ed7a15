using System.Collections;
using System.Text.RegularExpressions;

namespace FineTuning.Data;

/// <summary>
/// Named splits ("train", "validation", "test", ...) of one dataset, like HF <c>DatasetDict</c>. Map, RemoveColumns,
/// RenameColumn and ClassEncodeColumn apply to every split. Splits keep the order they were loaded in.
/// </summary>
public sealed class DatasetDict : IReadOnlyDictionary<string, Dataset>
{
    readonly List<KeyValuePair<string, Dataset>> splits;
    readonly IReadOnlyDictionary<string, string> absent;

    public DatasetDict(IEnumerable<KeyValuePair<string, Dataset>> splits) : this(splits, null) { }

    /// <param name="splits">split name → dataset, in order.</param>
    /// <param name="absentSplits">split → why it is not there (e.g. "test.tsv is not in /data/MRPC"), quoted when
    /// someone asks for it.</param>
    internal DatasetDict(IEnumerable<KeyValuePair<string, Dataset>> splits, IReadOnlyDictionary<string, string>? absentSplits)
    {
        this.splits = splits.ToList();
        if (this.splits.Select(s => s.Key).Distinct().Count() != this.splits.Count) throw new ArgumentException("duplicate split names");
        absent = absentSplits ?? new Dictionary<string, string>();
    }

    /// <summary>Splits a loader expected but did not find, with the reason (the missing file).</summary>
    public IReadOnlyDictionary<string, string> AbsentSplits => absent;

    public Dataset this[string key] => TryGetValue(key, out var d)
        ? d
        : throw new KeyNotFoundException($"no split '{key}'" + (absent.TryGetValue(key, out var why) ? $" ({why})" : "") +
            $"; splits: {string.Join(", ", Keys)}");

    public IEnumerable<string> Keys => splits.Select(s => s.Key);
    public IEnumerable<Dataset> Values => splits.Select(s => s.Value);
    public int Count => splits.Count;
    public bool ContainsKey(string key) => splits.Any(s => s.Key == key);

    public bool TryGetValue(string key, out Dataset value)
    {
        value = splits.FirstOrDefault(s => s.Key == key).Value;
        return value is not null;
    }

    public IEnumerator<KeyValuePair<string, Dataset>> GetEnumerator() => splits.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    DatasetDict Apply(Func<Dataset, Dataset> f) => new(splits.Select(s => KeyValuePair.Create(s.Key, f(s.Value))), absent);

    /// <summary><see cref="Dataset.Map(Func{DatasetBatch, IReadOnlyDictionary{string, IList}}, bool, int, IEnumerable{string}?)"/> on every split.</summary>
    public DatasetDict Map(Func<DatasetBatch, IReadOnlyDictionary<string, IList>> fn, bool batched, int batchSize = 1000,
        IEnumerable<string>? removeColumns = null)
    {
        var remove = removeColumns?.ToArray();
        return Apply(d => d.Map(fn, batched, batchSize, remove));
    }

    /// <summary>The per-row <see cref="Dataset.Map(Func{IReadOnlyDictionary{string, object?}, IReadOnlyDictionary{string, object?}}, IEnumerable{string}?)"/> on every split.</summary>
    public DatasetDict Map(Func<IReadOnlyDictionary<string, object?>, IReadOnlyDictionary<string, object?>> fn,
        IEnumerable<string>? removeColumns = null)
    {
        var remove = removeColumns?.ToArray();
        return Apply(d => d.Map(fn, remove));
    }

    public DatasetDict RemoveColumns(params string[] names) => Apply(d => d.RemoveColumns(names));

    public DatasetDict RenameColumn(string oldName, string newName) => Apply(d => d.RenameColumn(oldName, newName));

    /// <summary>HF <c>class_encode_column</c> on every split, with one ClassLabel: the sorted distinct values of all splits.</summary>
    public DatasetDict ClassEncodeColumn(string column)
    {
        if (Values.Any(d => d.Features[column] is ClassLabel)) return this;
        var label = new ClassLabel(Values.SelectMany(d => d.DistinctNames(column)).Distinct().Order(StringComparer.Ordinal));
        return Apply(d => d.CastColumn(column, label));
    }

    public DatasetDict Shuffle(int seed) => Apply(d => d.Shuffle(seed));

    /// <summary>As HF prints it: <c>DatasetDict({\n    train: Dataset({\n        features: [...], ...</c>.</summary>
    public override string ToString()
    {
        var body = string.Join("\n", splits.Select(s => $"{s.Key}: {s.Value}"));
        return "DatasetDict({\n" + Regex.Replace(body, "^", "    ", RegexOptions.Multiline) + "\n})";
    }
}
