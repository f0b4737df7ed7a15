using System.Collections;

namespace FineTuning.Data;

/// <summary>Operations on the typed lists (<c>List&lt;T&gt;</c>) that hold a dataset's columns.</summary>
internal static class ColumnLists
{
    /// <summary>The element type of a <c>List&lt;T&gt;</c> (or any IList&lt;T&gt; / T[]).</summary>
    public static Type ElementType(IList list)
    {
        if (list.GetType().IsArray) return list.GetType().GetElementType()!;
        foreach (var i in list.GetType().GetInterfaces())
            if (i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IList<>)) return i.GetGenericArguments()[0];
        throw new ArgumentException($"a column must be a typed list such as List<string>, List<long> or List<int[]>, not {list.GetType().Name}");
    }

    public static IList New(Type elementType, int capacity) =>
        (IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(elementType), capacity)!;

    /// <summary>A new list with the rows <paramref name="indices"/> of <paramref name="source"/>, in that order.</summary>
    public static IList Gather(IList source, IReadOnlyList<int> indices) => source switch
    {
        List<string?> s => Gather(s, indices),
        List<long> s => Gather(s, indices),
        List<int> s => Gather(s, indices),
        List<float> s => Gather(s, indices),
        List<double> s => Gather(s, indices),
        List<bool> s => Gather(s, indices),
        List<int[]> s => Gather(s, indices),
        List<long[]> s => Gather(s, indices),
        _ => GatherBoxed(source, indices),
    };

    static List<T> Gather<T>(List<T> source, IReadOnlyList<int> indices)
    {
        var result = new List<T>(indices.Count);
        foreach (int i in indices)
        {
            if ((uint)i >= (uint)source.Count)
                throw new IndexOutOfRangeException($"index {i} is out of range for a dataset of {source.Count} rows");
            result.Add(source[i]);
        }
        return result;
    }

    static IList GatherBoxed(IList source, IReadOnlyList<int> indices)
    {
        var result = New(ElementType(source), indices.Count);
        foreach (int i in indices)
        {
            if ((uint)i >= (uint)source.Count)
                throw new IndexOutOfRangeException($"index {i} is out of range for a dataset of {source.Count} rows");
            result.Add(source[i]);
        }
        return result;
    }

    /// <summary>Appends every item of <paramref name="items"/> to <paramref name="target"/> (same element type).</summary>
    public static void AddRange(IList target, IList items)
    {
        switch (target)
        {
            case List<string?> t when items is IEnumerable<string?> e: t.AddRange(e); return;
            case List<long> t when items is IEnumerable<long> e: t.AddRange(e); return;
            case List<int> t when items is IEnumerable<int> e: t.AddRange(e); return;
            case List<float> t when items is IEnumerable<float> e: t.AddRange(e); return;
            case List<double> t when items is IEnumerable<double> e: t.AddRange(e); return;
            case List<int[]> t when items is IEnumerable<int[]> e: t.AddRange(e); return;
            default: foreach (var item in items) target.Add(item); return;
        }
    }
}

/// <summary>A read-only window [start, start + count) over a list, without copying.</summary>
internal sealed class ListSlice<T>(IReadOnlyList<T> source, int start, int count) : IReadOnlyList<T>
{
    public T this[int index] => (uint)index < (uint)count
        ? source[start + index]
        : throw new ArgumentOutOfRangeException(nameof(index), index, $"the batch has {count} rows");

    public int Count => count;

    public IEnumerator<T> GetEnumerator()
    {
        for (int i = 0; i < count; i++) yield return source[start + i];
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>A column seen as boxed values (<c>dataset["label"]</c>).</summary>
internal sealed class BoxedColumn(IList source, int start, int count) : IReadOnlyList<object?>
{
    public object? this[int index] => (uint)index < (uint)count
        ? source[start + index]
        : throw new ArgumentOutOfRangeException(nameof(index), index, $"the column has {count} rows");

    public int Count => count;

    public IEnumerator<object?> GetEnumerator()
    {
        for (int i = 0; i < count; i++) yield return source[start + i];
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
