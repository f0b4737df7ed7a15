using System.Collections;

namespace FineTuning.Data;

/// <summary>One row of a <see cref="Dataset"/> (<c>dataset[i]</c>), read from the columns on demand.</summary>
internal sealed class DatasetRow(Dataset dataset, int index) : IReadOnlyDictionary<string, object?>
{
    public int Index => index;

    public object? this[string key] => dataset.RawColumn(key)[index];
    public IEnumerable<string> Keys => dataset.ColumnNames;
    public IEnumerable<object?> Values => dataset.ColumnNames.Select(c => dataset.RawColumn(c)[index]);
    public int Count => dataset.ColumnNames.Count;
    public bool ContainsKey(string key) => dataset.Features.ContainsKey(key);

    public bool TryGetValue(string key, out object? value)
    {
        bool found = dataset.Features.ContainsKey(key);
        value = found ? dataset.RawColumn(key)[index] : null;
        return found;
    }

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() =>
        dataset.ColumnNames.Select(c => KeyValuePair.Create(c, dataset.RawColumn(c)[index])).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() =>
        "{" + string.Join(", ", this.Select(p => $"'{p.Key}': {Format(p.Value)}")) + "}";

    static string Format(object? v) => v switch
    {
        null => "None",
        string s => FeatureType.PyString(s),
        int[] a => "[" + string.Join(", ", a) + "]",
        long[] a => "[" + string.Join(", ", a) + "]",
        IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => v.ToString() ?? "",
    };
}
