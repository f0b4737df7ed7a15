using System.Text.Json;
using FineTuning.Tokenizers;
using MlWordPiece = Microsoft.ML.Tokenizers.WordPieceTokenizer;

namespace FineTuning.Tests.Tokenizers;

/// <summary>
/// Why our <see cref="WordPiece"/> and not Microsoft.ML.Tokenizers' WordPieceTokenizer: same pieces on ordinary
/// words, but two HF differences (duplicate vocab lines, word length in UTF-16 units). If a library update removes
/// them, these tests fail and say so.
/// </summary>
public sealed class WordPieceLibraryComparisonTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("wp-tests-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [FixtureFact("fixtures", "tokenization.jsonl")]
    public void Same_Pieces_As_The_Library_On_The_Fixture_Words()
    {
        var vocabPath = SharedFixtures.Path("fixtures", "tiny-random-bert", "vocab.txt");
        var ours = new WordPiece(Vocabulary.Load(vocabPath).TokenToId, "[UNK]");
        var library = MlWordPiece.Create(vocabPath, new Microsoft.ML.Tokenizers.WordPieceOptions());
        var basic = new BasicTokenizer();
        var words = new HashSet<string>();
        foreach (var line in File.ReadLines(SharedFixtures.Path("fixtures", "tokenization.jsonl")).Skip(1))
        {
            var r = JsonDocument.Parse(line).RootElement;
            foreach (var key in new[] { "text", "sentence1", "sentence2" })
                if (r.TryGetProperty(key, out var t)) words.UnionWith(basic.Tokenize(t.GetString()!));
        }
        var differ = new List<string>();
        foreach (var w in words)
        {
            var a = new List<string>();
            ours.TokenizeWord(w, a);
            var b = library.EncodeToTokens(w, out _).Select(t => t.Value).ToList();
            if (!a.SequenceEqual(b)) differ.Add($"{w}: ours [{string.Join(" ", a)}] library [{string.Join(" ", b)}]");
        }
        Assert.True(differ.Count == 0, $"{differ.Count} of {words.Count} words differ:\n" + string.Join("\n", differ.Take(10)));
    }

    [Fact]
    public void Library_Rejects_Duplicate_Vocab_Lines_That_HF_Accepts()
    {
        var path = Path.Combine(dir, "vocab.txt");
        File.WriteAllLines(path, ["[PAD]", "[UNK]", "hello", "hello"]);
        Assert.ThrowsAny<ArgumentException>(() => MlWordPiece.Create(path, new Microsoft.ML.Tokenizers.WordPieceOptions()));
        Assert.Equal(3, Vocabulary.Load(path).TokenToId["hello"]);   // HF: the last line wins
    }

    [Fact]
    public void Library_Counts_Word_Length_In_Utf16_Units()
    {
        var path = Path.Combine(dir, "vocab.txt");
        File.WriteAllLines(path, ["[PAD]", "[UNK]", "\U0001F600", "##\U0001F600"]);
        var word = string.Concat(Enumerable.Repeat("\U0001F600", 60));   // 60 code points, 120 UTF-16 units
        var library = MlWordPiece.Create(path, new Microsoft.ML.Tokenizers.WordPieceOptions());
        Assert.Equal(["[UNK]"], library.EncodeToTokens(word, out _).Select(t => t.Value));
        var ours = new List<string>();
        new WordPiece(Vocabulary.Load(path).TokenToId, "[UNK]").TokenizeWord(word, ours);
        Assert.Equal(60, ours.Count);   // HF: len(word) = 60 <= 100
    }
}
