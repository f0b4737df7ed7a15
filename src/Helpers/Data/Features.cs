using System.Collections.ObjectModel;
using System.Globalization;
using System.Text;

namespace FineTuning.Data;

/// <summary>
/// The type of one dataset column, as HF <c>datasets</c> describes it: <see cref="Value"/>, <see cref="ClassLabel"/>
/// or <see cref="Sequence"/>. <see cref="ClrType"/> is the element type of the column's list
/// (<c>List&lt;string&gt;</c>, <c>List&lt;long&gt;</c>, <c>List&lt;int[]&gt;</c>, ...).
/// </summary>
public abstract record FeatureType
{
    /// <summary>The CLR type of one value of the column.</summary>
    public abstract Type ClrType { get; }

    /// <summary>The feature a column of this CLR element type gets when nothing else is known.</summary>
    public static FeatureType Infer(Type elementType) =>
        elementType == typeof(int[]) ? new Sequence(new Value("int32"))
        : elementType == typeof(long[]) ? new Sequence(new Value("int64"))
        : elementType == typeof(float[]) ? new Sequence(new Value("float32"))
        : elementType == typeof(double[]) ? new Sequence(new Value("float64"))
        : elementType == typeof(string[]) ? new Sequence(new Value("string"))
        : Value.FromClr(elementType);

    internal static string PyString(string s) => "'" + s.Replace("\\", "\\\\").Replace("'", "\\'") + "'";
}

/// <summary>
/// A scalar column: HF <c>Value(dtype)</c>. Dtypes: string (<see cref="string"/>), int32 (<see cref="int"/>),
/// int64 (<see cref="long"/>), float32 (<see cref="float"/>), float64 (<see cref="double"/>), bool.
/// </summary>
public sealed record Value : FeatureType
{
    static readonly Dictionary<string, Type> Types = new()
    {
        ["string"] = typeof(string), ["int32"] = typeof(int), ["int64"] = typeof(long),
        ["float32"] = typeof(float), ["float64"] = typeof(double), ["bool"] = typeof(bool),
    };

    public Value(string dtype)
    {
        if (!Types.ContainsKey(dtype))
            throw new ArgumentException($"unknown dtype '{dtype}'; supported: {string.Join(", ", Types.Keys)}", nameof(dtype));
        Dtype = dtype;
    }

    /// <summary>"string", "int32", "int64", "float32", "float64" or "bool".</summary>
    public string Dtype { get; }

    public override Type ClrType => Types[Dtype];

    /// <summary>The Value whose values are of this CLR type.</summary>
    public static Value FromClr(Type type) =>
        Types.FirstOrDefault(p => p.Value == type).Key is { } dtype
            ? new Value(dtype)
            : throw new ArgumentException($"no dataset dtype holds {type.Name}; supported: string, int, long, float, double, bool, int[], long[]");

    public override string ToString() => $"Value(dtype='{Dtype}', id=None)";
}

/// <summary>
/// An integer class column with names: HF <c>ClassLabel(names=[...])</c>. Values are stored as int64 (-1 = no label,
/// as in GLUE's test splits).
/// </summary>
public sealed record ClassLabel : FeatureType
{
    readonly Dictionary<string, int> ids;

    public ClassLabel(IEnumerable<string> names)
    {
        Names = new ReadOnlyCollection<string>(names.ToArray());
        if (Names.Count == 0) throw new ArgumentException("a ClassLabel needs at least one name", nameof(names));
        ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < Names.Count; i++)
            if (!ids.TryAdd(Names[i], i)) throw new ArgumentException($"duplicate class name '{Names[i]}'", nameof(names));
    }

    public ClassLabel(params string[] names) : this((IEnumerable<string>)names) { }

    /// <summary>The class names; the label of a name is its index.</summary>
    public IReadOnlyList<string> Names { get; }

    public int NumClasses => Names.Count;

    public override Type ClrType => typeof(long);

    /// <summary>The name of a label id (HF <c>int2str</c>).</summary>
    public string Int2Str(long id) => id >= 0 && id < Names.Count
        ? Names[(int)id]
        : throw new ArgumentOutOfRangeException(nameof(id), id, $"label must be in [0, {Names.Count}) for {this}");

    /// <summary>The label id of a name (HF <c>str2int</c>); an integer string ("1") is accepted when in range.</summary>
    public int Str2Int(string name)
    {
        if (ids.TryGetValue(name, out int id)) return id;
        if (int.TryParse(name, NumberStyles.Integer, CultureInfo.InvariantCulture, out id) && id >= 0 && id < Names.Count) return id;
        throw new ArgumentException($"invalid class name '{name}'; names: {string.Join(", ", Names)}", nameof(name));
    }

    internal bool TryStr2Int(string name, out int id) => ids.TryGetValue(name, out id);

    public bool Equals(ClassLabel? other) => other is not null && Names.SequenceEqual(other.Names);

    public override int GetHashCode() => Names.Aggregate(17, (h, n) => h * 31 + n.GetHashCode());

    public override string ToString() => $"ClassLabel(names=[{string.Join(", ", Names.Select(PyString))}], id=None)";
}

/// <summary>A variable-length list per row (token ids): HF <c>Sequence(feature=Value('int32'))</c>.</summary>
public sealed record Sequence(Value Feature) : FeatureType
{
    public override Type ClrType => Feature.ClrType.MakeArrayType();

    public override string ToString() => $"Sequence(feature={Feature}, length=-1, id=None)";
}

/// <summary>
/// The ordered column name → <see cref="FeatureType"/> map of a dataset (HF <c>Features</c>), printed as HF prints it:
/// <c>{'sentence1': Value(dtype='string', id=None), 'label': ClassLabel(names=[...], id=None)}</c>.
/// </summary>
public sealed class Features : IReadOnlyDictionary<string, FeatureType>
{
    readonly List<KeyValuePair<string, FeatureType>> items;
    readonly Dictionary<string, FeatureType> map;

    public Features(IEnumerable<KeyValuePair<string, FeatureType>> features)
    {
        items = features.ToList();
        map = new Dictionary<string, FeatureType>(StringComparer.Ordinal);
        foreach (var (name, type) in items)
            if (!map.TryAdd(name, type)) throw new ArgumentException($"duplicate column '{name}'", nameof(features));
    }

    public Features(params (string Name, FeatureType Type)[] features)
        : this(features.Select(f => KeyValuePair.Create(f.Name, f.Type))) { }

    public FeatureType this[string key] => map.TryGetValue(key, out var f)
        ? f
        : throw new KeyNotFoundException($"no column '{key}'; columns: {string.Join(", ", Keys)}");

    public IEnumerable<string> Keys => items.Select(p => p.Key);
    public IEnumerable<FeatureType> Values => items.Select(p => p.Value);
    public int Count => items.Count;
    public bool ContainsKey(string key) => map.ContainsKey(key);
    public bool TryGetValue(string key, out FeatureType value) => map.TryGetValue(key, out value!);
    public IEnumerator<KeyValuePair<string, FeatureType>> GetEnumerator() => items.GetEnumerator();
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString()
    {
        var sb = new StringBuilder("{");
        foreach (var (name, type) in items)
            sb.Append(sb.Length > 1 ? ", " : "").Append(FeatureType.PyString(name)).Append(": ").Append(type);
        return sb.Append('}').ToString();
    }
}
