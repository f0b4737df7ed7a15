using System.Text;

namespace FineTuning.Tokenizers;

/// <summary>Python <c>str</c> operations the HF tokenizer relies on, where .NET's differ.</summary>
internal static class PythonText
{
    /// <summary>
    /// <c>str.lower()</c> applied one code point at a time, which is what HF's slow tokenizer does: its
    /// <c>tokenize()</c> lower-cases the text with <c>re.sub(..., lambda m: m.groups()[1].lower())</c> over
    /// single-character matches, so the final-sigma rule never fires (Σ → σ always). The one full (1:n) mapping
    /// Python applies that .NET's simple mapping lacks is U+0130 İ → "i̇" (i + U+0307 combining dot above).
    /// </summary>
    public static string Lower(string text)
    {
        if (System.Text.Ascii.IsValid(text)) return text.ToLowerInvariant();   // fast path, same result for ASCII
        var sb = new StringBuilder(text.Length);
        foreach (var rune in text.EnumerateRunes())
        {
            if (rune.Value == 0x130) sb.Append("i\u0307");
            else sb.Append(Rune.ToLowerInvariant(rune).ToString());
        }
        return sb.ToString();
    }
}
