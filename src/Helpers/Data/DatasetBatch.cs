using System.Collections;

namespace FineTuning.Data;

/// <summary>
/// The rows [<see cref="Start"/>, <see cref="Start"/> + <see cref="Count"/>) of a dataset, handed to a batched
/// <see cref="Dataset.Map(Func{DatasetBatch, IReadOnlyDictionary{string, IList}}, bool, int, IEnumerable{string}?)"/>
/// (HF passes a dict of lists). Columns are windows over the dataset's lists: nothing is copied.
/// </summary>
public sealed class DatasetBatch
{
    readonly Dataset dataset;

    internal DatasetBatch(Dataset dataset, int start, int count)
    {
        this.dataset = dataset;
        Start = start;
        Count = count;
    }

    /// <summary>Index in the dataset of the batch's first row.</summary>
    public int Start { get; }

    /// <summary>Rows in the batch.</summary>
    public int Count { get; }

    public IReadOnlyList<string> ColumnNames => dataset.ColumnNames;

    public Features Features => dataset.Features;

    /// <summary>A column, typed: <c>Column&lt;string&gt;("sentence1")</c>, <c>Column&lt;int[]&gt;("input_ids")</c>.</summary>
    public IReadOnlyList<T> Column<T>(string name) => new ListSlice<T>(dataset.Column<T>(name), Start, Count);

    /// <summary>A string column (e.g. the sentences to tokenize).</summary>
    public IReadOnlyList<string> Strings(string name) => Column<string>(name);

    /// <summary>An integer column (int64 or int32, ClassLabel included) as longs.</summary>
    public IReadOnlyList<long> Longs(string name) => Column<long>(name);

    /// <summary>A column as boxed values.</summary>
    public IReadOnlyList<object?> this[string name] => new BoxedColumn(dataset.RawColumn(name), Start, Count);
}
