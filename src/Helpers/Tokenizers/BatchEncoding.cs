using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace FineTuning.Tokenizers;

/// <summary>
/// The result of a batched tokenizer call (HF <c>BatchEncoding</c> of python lists): a read-only dictionary with the
/// keys "input_ids", "token_type_ids" and "attention_mask", each a <see cref="List{T}"/> of <c>int[]</c> with one
/// array per example, so it plugs into column-wise dataset code (Dataset.Map).
/// </summary>
public sealed class BatchEncoding : IReadOnlyDictionary<string, IList>
{
    public const string InputIdsKey = "input_ids";
    public const string TokenTypeIdsKey = "token_type_ids";
    public const string AttentionMaskKey = "attention_mask";

    static readonly string[] KeyOrder = [InputIdsKey, TokenTypeIdsKey, AttentionMaskKey];

    public BatchEncoding(IEnumerable<Encoding> encodings)
    {
        foreach (var e in encodings)
        {
            tokenOf ??= e.TokenOf;
            InputIds.Add(e.InputIds);
            TokenTypeIds.Add(e.TokenTypeIds);
            AttentionMask.Add(e.AttentionMask);
        }
    }

    readonly Func<int, string>? tokenOf;

    public List<int[]> InputIds { get; } = [];
    public List<int[]> TokenTypeIds { get; } = [];
    public List<int[]> AttentionMask { get; } = [];

    /// <summary>Number of examples.</summary>
    public int Examples => InputIds.Count;

    /// <summary>Example <paramref name="index"/> as an <see cref="Encoding"/>.</summary>
    public Encoding this[int index] => new(InputIds[index], TokenTypeIds[index], AttentionMask[index]) { TokenOf = tokenOf };

    /// <summary>HF <c>BatchEncoding.tokens(batch_index)</c>: the tokens of example <paramref name="batchIndex"/>; null when
    /// the encodings were not made by a tokenizer.</summary>
    public IReadOnlyList<string>? Tokens(int batchIndex = 0) => this[batchIndex].Tokens;

    /// <summary>The column named <paramref name="key"/> (a <c>List&lt;int[]&gt;</c>).</summary>
    public IList this[string key] =>
        TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"BatchEncoding has no key '{key}' (keys: {string.Join(", ", KeyOrder)})");

    public IEnumerable<string> Keys => KeyOrder;

    public IEnumerable<IList> Values => [InputIds, TokenTypeIds, AttentionMask];

    /// <summary>Number of keys (3), as for any dictionary; see <see cref="Examples"/> for the example count.</summary>
    public int Count => KeyOrder.Length;

    public bool ContainsKey(string key) => Array.IndexOf(KeyOrder, key) >= 0;

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out IList value)
    {
        value = key switch
        {
            InputIdsKey => InputIds,
            TokenTypeIdsKey => TokenTypeIds,
            AttentionMaskKey => AttentionMask,
            _ => null,
        };
        return value is not null;
    }

    public IEnumerator<KeyValuePair<string, IList>> GetEnumerator()
    {
        yield return new(InputIdsKey, InputIds);
        yield return new(TokenTypeIdsKey, TokenTypeIds);
        yield return new(AttentionMaskKey, AttentionMask);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
