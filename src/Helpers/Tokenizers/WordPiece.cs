namespace FineTuning.Tokenizers;

/// <summary>
/// HF's <c>tokenization_bert.WordpieceTokenizer</c>: greedy longest-match-first over the vocabulary, continuation
/// pieces prefixed with <c>##</c>; a word with no full decomposition, or longer than
/// <see cref="MaxInputCharsPerWord"/> code points, becomes the unknown token.
/// </summary>
/// <remarks>
/// We tried Microsoft.ML.Tokenizers 2.0.1's <c>WordPieceTokenizer</c> for this step: on all 12,863 distinct pre-split
/// words of MRPC train and tokenization.jsonl it gives the same pieces as this class, but it is not HF-identical in
/// two ways, so this ~25-line greedy algorithm is ours:
/// <list type="bullet">
/// <item>its vocab loader throws ("An item with the same key has already been added") on a duplicate line, where HF
/// keeps the last id (<c>vocab[token] = index</c>);</item>
/// <item>its <c>MaxInputCharsPerWord</c> counts UTF-16 units, HF counts code points (<c>len(str)</c>): a word of 60
/// emoji (120 UTF-16 units) is [UNK] there and 60 pieces in HF when the vocabulary has them.</item>
/// </list>
/// Here lengths count code points and substrings never split a surrogate pair.
/// </remarks>
public sealed class WordPiece
{
    public WordPiece(IReadOnlyDictionary<string, int> vocab, string unkToken, int maxInputCharsPerWord = 100)
    {
        Vocab = vocab;
        UnkToken = unkToken;
        MaxInputCharsPerWord = maxInputCharsPerWord;
        // Span lookups (no string per candidate) when the vocabulary is an ordinal Dictionary, as Vocabulary's is.
        if (vocab is Dictionary<string, int> d && d.Comparer == StringComparer.Ordinal)
            spanLookup = d.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>>? spanLookup;

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
        Span<int> offsets = word.Length < 256 ? stackalloc int[word.Length + 1] : new int[word.Length + 1];
        var chars = 0;
        for (var i = 0; i < word.Length; i += char.IsSurrogatePair(word, i) ? 2 : 1) offsets[chars++] = i;
        offsets[chars] = word.Length;
        if (chars > MaxInputCharsPerWord) { output.Add(UnkToken); return; }

        Span<char> buffer = word.Length < 256 ? stackalloc char[word.Length + 2] : new char[word.Length + 2];
        buffer[0] = '#';
        buffer[1] = '#';
        var firstPiece = output.Count;
        var start = 0;
        while (start < chars)
        {
            string? found = null;
            var end = chars;
            for (; start < end; end--)
            {
                var piece = word.AsSpan(offsets[start], offsets[end] - offsets[start]);
                string? key;
                if (start == 0) key = Lookup(piece);
                else
                {
                    piece.CopyTo(buffer[2..]);
                    key = Lookup(buffer[..(piece.Length + 2)]);
                }
                if (key is not null) { found = key; break; }
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

    string? Lookup(ReadOnlySpan<char> candidate)
    {
        if (spanLookup is { } lookup) return lookup.TryGetValue(candidate, out var key, out _) ? key : null;
        var s = candidate.ToString();
        return Vocab.ContainsKey(s) ? s : null;
    }
}
