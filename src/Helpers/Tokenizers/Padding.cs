namespace FineTuning.Tokenizers;

/// <summary>HF <c>PaddingStrategy</c>. Padding is on the right, with the pad id, attention 0 and token type 0.</summary>
public enum Padding
{
    /// <summary><c>padding=False</c> / "do_not_pad".</summary>
    None,
    /// <summary><c>padding=True</c> / "longest": pad to the longest sequence of the call.</summary>
    Longest,
    /// <summary><c>padding="max_length"</c>: pad to maxLength (or the model maximum).</summary>
    MaxLength,
}
