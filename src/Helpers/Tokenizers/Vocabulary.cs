using System.Text;

namespace FineTuning.Tokenizers;

/// <summary>
/// A WordPiece <c>vocab.txt</c>: one token per line, id = line index (HF <c>load_vocab</c>).
/// </summary>
/// <remarks>
/// Read as Python's text mode does: UTF-8 (a BOM is kept as part of the first token, as <c>encoding="utf-8"</c>
/// keeps it), universal newlines (\r\n and \r end a line too), only the line end removed. A token on several lines
/// maps to its LAST line (HF: <c>vocab[token] = index</c> in a loop); the earlier ids then decode to the unknown
/// token, and <see cref="Count"/> counts distinct tokens (HF <c>vocab_size = len(self.vocab)</c>).
/// </remarks>
public sealed class Vocabulary
{
    readonly Dictionary<string, int> tokenToId;
    readonly Dictionary<int, string> idToToken;

    Vocabulary(string[] lines)
    {
        Lines = lines;
        tokenToId = new Dictionary<string, int>(lines.Length, StringComparer.Ordinal);
        for (var i = 0; i < lines.Length; i++) tokenToId[lines[i]] = i;
        idToToken = new Dictionary<int, string>(tokenToId.Count);
        foreach (var (token, id) in tokenToId) idToToken[id] = token;
    }

    /// <summary>The file's lines in order (written back unchanged by <see cref="Save"/>, so ids survive a round trip).</summary>
    public IReadOnlyList<string> Lines { get; }

    /// <summary>Number of distinct tokens.</summary>
    public int Count => tokenToId.Count;

    public IReadOnlyDictionary<string, int> TokenToId => tokenToId;

    public bool TryGetId(string token, out int id) => tokenToId.TryGetValue(token, out id);

    public bool TryGetToken(int id, out string token) => idToToken.TryGetValue(id, out token!);

    public static Vocabulary FromLines(IEnumerable<string> lines) => new([.. lines]);

    /// <summary>Reads <paramref name="path"/>; <see cref="CheckpointException"/> when it is missing or has no token.</summary>
    public static Vocabulary Load(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException(path, "vocabulary file not found (a BERT tokenizer needs vocab.txt)");
        string text;
        var bytes = File.ReadAllBytes(path);
        try
        {
            text = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException e)
        {
            // The line (= token id + 1) of the bad byte: lines split at \n, which never occurs inside a UTF-8 sequence.
            int at = Math.Clamp(e.Index, 0, bytes.Length);
            int line = 1 + bytes.AsSpan(0, at).Count((byte)'\n');
            var bad = e.BytesUnknown is { Length: > 0 } b ? $" (byte 0x{b[0]:X2})" : "";
            throw new CheckpointException(path, $"vocabulary file is not valid UTF-8{bad} on line {line} (token id {line - 1}); save it as UTF-8", inner: e);
        }
        if (text.StartsWith('\uFEFF'))
        {
            // A BOM (EF BB BF, as Windows editors save UTF-8) would become part of the first token ("\uFEFF[PAD]"), and
            // the error would then be a missing [PAD]: drop it and say so.
            text = text[1..];
            Logging.Warning($"{path} starts with a UTF-8 byte-order mark (EF BB BF); it was dropped. Python's tokenizer keeps it as part of the "
                + "first token: save the file as UTF-8 without BOM to use it there too.");
        }
        text = text.Replace("\r\n", "\n").Replace('\r', '\n');
        string[] lines = text.Length == 0 ? [] : text.Split('\n');
        if (text.EndsWith('\n')) lines = lines[..^1];
        if (lines.Length == 0) throw new CheckpointException(path, "vocabulary file is empty (expected one token per line)");
        return new Vocabulary(lines);
    }

    /// <summary>Writes the lines back, each followed by \n (HF <c>save_vocabulary</c>), atomically.</summary>
    public void Save(string path)
    {
        var sb = new StringBuilder();
        foreach (var line in Lines) sb.Append(line).Append('\n');
        AtomicFile.WriteAllText(path, sb.ToString());
    }
}
