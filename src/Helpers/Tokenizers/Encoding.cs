namespace FineTuning.Tokenizers;

/// <summary>One encoded example: what <c>tokenizer(text, text_pair)</c> returns for a single input.</summary>
public sealed record Encoding(int[] InputIds, int[] TokenTypeIds, int[] AttentionMask)
{
    /// <summary>Number of positions (padding included).</summary>
    public int Length => InputIds.Length;

    /// <summary>HF fast tokenizers' <c>Encoding.tokens</c>: the token of each position (the vocabulary's string for each
    /// input id, [CLS] and [PAD] included); null for an encoding not made by a tokenizer.</summary>
    public IReadOnlyList<string>? Tokens => TokenOf is { } tokenOf ? Array.ConvertAll(InputIds, id => tokenOf(id)) : null;

    /// <summary>The tokenizer's id → token lookup (kept instead of the strings: a mapped dataset holds many encodings).</summary>
    internal Func<int, string>? TokenOf { get; init; }
}
