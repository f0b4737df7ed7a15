namespace FineTuning.Tokenizers;

/// <summary>One encoded example: what <c>tokenizer(text, text_pair)</c> returns for a single input.</summary>
public sealed record Encoding(int[] InputIds, int[] TokenTypeIds, int[] AttentionMask)
{
    /// <summary>Number of positions (padding included).</summary>
    public int Length => InputIds.Length;
}
