using System.Text;

namespace FineTuning.Tokenizers;

/// <summary>
/// HF's <c>tokenization_bert.WordpieceTokenizer</c>: greedy longest-match-first over the vocabulary, continuation
/// pieces prefixed with <c>##</c>; a word with no full decomposition, or longer than
/// <see cref="MaxInputCharsPerWord"/> code points, becomes the unknown token.
/// </summary>
/// <remarks>
/// Implemented here rather than with Microsoft.ML.Tokenizers' <c>WordPieceTokenizer</c>: that class is built from a
/// vocab file/stream with its own loader and its own pre-tokenizer/normalizer pipeline, so it cannot share our
/// vocabulary dictionary (which mirrors HF's duplicate-line rule, see <see cref="Vocabulary"/>), and the algorithm
/// is ~25 lines. Lengths here count code points as Python's <c>len(str)</c> does.
/// </remarks>
public sealed class WordPiece
{
    public WordPiece(IReadOnlyDictionary<string, int> vocab, string unkToken, int maxInputCharsPerWord = 100)
    {
        Vocab = vocab;
        UnkToken = unkToken;
        MaxInputCharsPerWord = maxInputCharsPerWord;
    }

    public IReadOnlyDictionary<string, int> Vocab { get; }
    public string UnkToken { get; }
    public int MaxInputCharsPerWord { get; }

    /// <summary>Splits each whitespace-separated word of <paramref name="text"/> into word pieces, appending to <paramref name="output"/>.</summary>
    public void Tokenize(string text, List<string> output)
    {
        foreach (var word in BasicTokenizer.WhitespaceSplit(text)) TokenizeWord(word, output);
    }

    /// <summary>Word pieces of one word (no whitespace inside).</summary>
    public void TokenizeWord(string word, List<string> output)
    {
        // UTF-16 offset of each code point, plus the end: substrings never split a surrogate pair.
        var offsets = new List<int>(word.Length + 1);
        for (var i = 0; i < word.Length; i += char.IsSurrogatePair(word, i) ? 2 : 1) offsets.Add(i);
        var chars = offsets.Count;
        offsets.Add(word.Length);
        if (chars > MaxInputCharsPerWord) { output.Add(UnkToken); return; }

        var firstPiece = output.Count;
        var start = 0;
        var sb = new StringBuilder();
        while (start < chars)
        {
            string? found = null;
            var end = chars;
            for (; start < end; end--)
            {
                sb.Clear();
                if (start > 0) sb.Append("##");
                sb.Append(word, offsets[start], offsets[end] - offsets[start]);
                var candidate = sb.ToString();
                if (Vocab.ContainsKey(candidate)) { found = candidate; break; }
            }
            if (found is null)
            {
                output.RemoveRange(firstPiece, output.Count - firstPiece);
                output.Add(UnkToken);
                return;
            }
            output.Add(found);
            start = end;
        }
    }
}
