using System.Globalization;
using System.Text;

namespace FineTuning.Tokenizers;

/// <summary>
/// Hugging Face's <c>tokenization_bert.BasicTokenizer</c> (transformers 4.26): text cleaning, whitespace splitting,
/// CJK ideograph splitting, optional lower-casing / accent stripping, and punctuation splitting.
/// </summary>
/// <remarks>
/// Ours rather than Microsoft.ML.Tokenizers' BERT pre-tokenizer, which is not HF-identical: it drops
/// <c>$ + = &lt; &gt; ^ | ~</c> and emoji, glues words across \n and \t, and keeps accents.
/// Text is processed by code point (runes), as Python iterates a <c>str</c>. Lower-casing is Python's
/// <c>str.lower()</c> one code point at a time (see <see cref="PythonText.Lower"/>), which is what the text has been
/// through inside <see cref="BertTokenizer"/>; used alone on a whole word, HF would also apply the final-sigma rule
/// (word-final Σ → ς), which this class does not.
/// </remarks>
public sealed class BasicTokenizer
{
    /// <param name="doLowerCase">Lower-case each word (and, unless <paramref name="stripAccents"/> is false, strip accents).</param>
    /// <param name="neverSplit">Words kept whole (exact case) by the punctuation split and never lower-cased.</param>
    /// <param name="tokenizeChineseChars">Put spaces around CJK ideographs so each becomes its own word.</param>
    /// <param name="stripAccents">null: follow <paramref name="doLowerCase"/>; true/false: explicit.</param>
    public BasicTokenizer(bool doLowerCase = true, IEnumerable<string>? neverSplit = null,
        bool tokenizeChineseChars = true, bool? stripAccents = null)
    {
        DoLowerCase = doLowerCase;
        NeverSplit = new HashSet<string>(neverSplit ?? [], StringComparer.Ordinal);
        TokenizeChineseChars = tokenizeChineseChars;
        StripAccents = stripAccents;
    }

    public bool DoLowerCase { get; }
    public IReadOnlySet<string> NeverSplit { get; }
    public bool TokenizeChineseChars { get; }
    public bool? StripAccents { get; }

    /// <summary>Splits <paramref name="text"/> into words and punctuation marks (HF <c>BasicTokenizer.tokenize</c>).</summary>
    /// <param name="text">The text.</param>
    /// <param name="neverSplit">Extra words to keep whole for this call (HF passes the special tokens).</param>
    public List<string> Tokenize(string text, IEnumerable<string>? neverSplit = null)
    {
        var keep = neverSplit is null ? NeverSplit : new HashSet<string>(NeverSplit.Concat(neverSplit), StringComparer.Ordinal);
        return TokenizeKeeping(text, keep);
    }

    /// <summary><see cref="Tokenize"/> with the complete set of words to keep whole (must include <see cref="NeverSplit"/>).</summary>
    internal List<string> TokenizeKeeping(string text, IReadOnlySet<string> keep)
    {
        text = CleanText(text);
        if (TokenizeChineseChars) text = SpaceChineseChars(text);

        var split = new List<string>();
        foreach (var original in WhitespaceSplit(text))
        {
            var token = original;
            if (!keep.Contains(token))
            {
                if (DoLowerCase)
                {
                    token = PythonText.Lower(token);
                    if (StripAccents is not false) token = RemoveAccents(token);
                }
                else if (StripAccents is true)
                {
                    token = RemoveAccents(token);
                }
            }
            SplitOnPunctuation(token, keep, split);
        }
        // HF re-joins with spaces and splits again, which drops empty pieces (e.g. a word that was only accents).
        return WhitespaceSplit(string.Join(" ", split));
    }

    /// <summary>Python's <c>str.split()</c> (no argument): split on whitespace runs, no empty pieces.</summary>
    internal static List<string> WhitespaceSplit(string text)
    {
        var result = new List<string>();
        var start = -1;
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsWhiteSpace(text[i]))
            {
                if (start >= 0) { result.Add(text[start..i]); start = -1; }
            }
            else if (start < 0) start = i;
        }
        if (start >= 0) result.Add(text[start..]);
        return result;
    }

    /// <summary>Removes U+0000, U+FFFD and control characters (category C*, except \t \n \r); whitespace becomes a space.</summary>
    internal static string CleanText(string text)
    {
        var sb = new StringBuilder(text.Length);
        var i = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            var n = rune.Utf16SequenceLength;
            if (rune.Value == 0 || rune.Value == 0xFFFD || IsControl(rune)) { }
            else if (IsWhitespace(rune)) sb.Append(' ');
            else sb.Append(text, i, n);
            i += n;
        }
        return sb.ToString();
    }

    static string SpaceChineseChars(string text)
    {
        StringBuilder? sb = null;
        var i = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            if (IsChineseChar(rune.Value))
            {
                sb ??= new StringBuilder(text.Length + 16).Append(text, 0, i);
                sb.Append(' ').Append(rune.ToString()).Append(' ');
            }
            else sb?.Append(rune.ToString());
            i += rune.Utf16SequenceLength;
        }
        return sb?.ToString() ?? text;
    }

    /// <summary>NFD, then drop every non-spacing mark (category Mn).</summary>
    internal static string RemoveAccents(string text)
    {
        if (System.Text.Ascii.IsValid(text)) return text;   // fast path: ASCII has no accents (and ICU calls are slow)
        var decomposed = text.Normalize(NormalizationForm.FormD);
        var sb = new StringBuilder(decomposed.Length);
        foreach (var rune in decomposed.EnumerateRunes())
            if (Rune.GetUnicodeCategory(rune) != UnicodeCategory.NonSpacingMark) sb.Append(rune.ToString());
        return sb.ToString();
    }

    static void SplitOnPunctuation(string token, IReadOnlySet<string> keep, List<string> output)
    {
        if (keep.Contains(token)) { output.Add(token); return; }
        var start = -1;
        var i = 0;
        foreach (var rune in token.EnumerateRunes())
        {
            if (IsPunctuation(rune))
            {
                if (start >= 0) { output.Add(token[start..i]); start = -1; }
                output.Add(rune.ToString());
            }
            else if (start < 0) start = i;
            i += rune.Utf16SequenceLength;
        }
        if (start >= 0) output.Add(token[start..]);
    }

    /// <summary>HF <c>_is_whitespace</c>: space, \t, \n, \r or category Zs.</summary>
    internal static bool IsWhitespace(Rune rune) =>
        rune.Value is ' ' or '\t' or '\n' or '\r' || Rune.GetUnicodeCategory(rune) == UnicodeCategory.SpaceSeparator;

    /// <summary>HF <c>_is_control</c>: any category C* (Cc, Cf, Cs, Co, Cn) except \t \n \r.</summary>
    internal static bool IsControl(Rune rune)
    {
        if (rune.Value is '\t' or '\n' or '\r') return false;
        return Rune.GetUnicodeCategory(rune) is UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;
    }

    /// <summary>HF <c>_is_punctuation</c>: ASCII 33–47, 58–64, 91–96, 123–126, or any category P*.</summary>
    internal static bool IsPunctuation(Rune rune)
    {
        var cp = rune.Value;
        if (cp is >= 33 and <= 47 or >= 58 and <= 64 or >= 91 and <= 96 or >= 123 and <= 126) return true;
        return Rune.GetUnicodeCategory(rune) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
    }

    /// <summary>HF <c>_is_chinese_char</c>: the CJK Unified Ideographs blocks (not Hiragana, Katakana or Hangul).</summary>
    internal static bool IsChineseChar(int cp) =>
        cp is >= 0x4E00 and <= 0x9FFF
            or >= 0x3400 and <= 0x4DBF
            or >= 0x20000 and <= 0x2A6DF
            or >= 0x2A700 and <= 0x2B73F
            or >= 0x2B740 and <= 0x2B81F
            or >= 0x2B820 and <= 0x2CEAF
            or >= 0xF900 and <= 0xFAFF
            or >= 0x2F800 and <= 0x2FA1F;
}
