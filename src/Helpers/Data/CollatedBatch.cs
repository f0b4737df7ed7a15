using static TorchSharp.torch;

namespace FineTuning.Data;

/// <summary>
/// What a collator returns: named int64/float tensors ready for the model — input_ids, attention_mask and
/// token_type_ids of shape (batch, seq), labels of shape (batch). Dispose it (or let the step's dispose scope) when done.
/// </summary>
public sealed class CollatedBatch : IReadOnlyDictionary<string, Tensor>, IDisposable
{
    readonly Dictionary<string, Tensor> tensors;

    public CollatedBatch(Dictionary<string, Tensor> tensors) => this.tensors = tensors;

    /// <summary>(batch, seq) int64 token ids.</summary>
    public Tensor InputIds => this["input_ids"];
    /// <summary>(batch, seq) int64, 1 for real tokens and 0 for padding; null when the examples had none.</summary>
    public Tensor? AttentionMask => tensors.GetValueOrDefault("attention_mask");
    /// <summary>(batch, seq) int64 segment ids; null when the examples had none.</summary>
    public Tensor? TokenTypeIds => tensors.GetValueOrDefault("token_type_ids");
    /// <summary>(batch) int64 class ids or float targets; null when the examples had no label.</summary>
    public Tensor? Labels => tensors.GetValueOrDefault("labels");

    public Tensor this[string key] => tensors.TryGetValue(key, out var t) ? t
        : throw new KeyNotFoundException($"The batch has no '{key}'. It has: {string.Join(", ", tensors.Keys)}.");
    public IEnumerable<string> Keys => tensors.Keys;
    public IEnumerable<Tensor> Values => tensors.Values;
    public int Count => tensors.Count;
    public bool ContainsKey(string key) => tensors.ContainsKey(key);
    public bool TryGetValue(string key, out Tensor value) => tensors.TryGetValue(key, out value!);
    public IEnumerator<KeyValuePair<string, Tensor>> GetEnumerator() => tensors.GetEnumerator();
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    public void Dispose()
    {
        foreach (var t in tensors.Values) t.Dispose();
    }

    public override string ToString() =>
        "{" + string.Join(", ", tensors.Select(kv => $"'{kv.Key}': ({string.Join(", ", kv.Value.shape)}) {kv.Value.dtype}")) + "}";
}
