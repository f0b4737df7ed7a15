using System.Text;
using System.Text.Json;

namespace FineTuning.Tokenizers;

/// <summary>
/// The BERT WordPiece tokenizer with exactly Hugging Face's results (transformers 4.26 slow <c>BertTokenizer</c>):
/// special tokens in the text are split off first (exact case), the rest is lower-cased when
/// <see cref="DoLowerCase"/>, then <see cref="BasicTokenizer"/> and <see cref="WordPiece"/>.
/// </summary>
public sealed class BertTokenizer
{
    public const string VocabFile = "vocab.txt";
    public const string TokenizerConfigFile = "tokenizer_config.json";
    public const string SpecialTokensMapFile = "special_tokens_map.json";

    bool warnedNoTruncation;

    const string NoTruncationWarning = "Asking to truncate to max_length but no maximum length is provided and the model has no predefined maximum length. Default to no truncation.";
    const string NoPaddingWarning = "Asking to pad to max_length but no maximum length is provided and the model has no predefined maximum length. Default to no padding.";
    const string ImplicitTruncationWarning = "Truncation was not explicitly activated but `max_length` is provided a specific value, please use `truncation=True` to explicitly truncate examples to max length. Defaulting to 'longest_first' truncation strategy. If you encode pairs of sequences (GLUE-style) with the tokenizer you can select this strategy more precisely by providing a specific strategy to `truncation`.";

    readonly BasicTokenizer? basic;
    readonly WordPiece wordPiece;
    readonly string[] specialTokens;          // all_special_tokens, longest first for matching
    readonly HashSet<int> specialIds;
    readonly HashSet<string> keepWhole;       // never_split + special tokens, for the basic tokenizer
    bool warnedTooLong;

    /// <summary>A tokenizer over <paramref name="vocab"/>, with HF BertTokenizer's parameters and defaults.</summary>
    /// <remarks><c>vocab</c> must contain the unknown, [CLS], [SEP] and [PAD] tokens. <c>modelMaxLength</c> null = no
    /// limit (HF VERY_LARGE_INTEGER). <c>source</c> is the file named in errors about the vocabulary.</remarks>
    public BertTokenizer(Vocabulary vocab, bool doLowerCase = true, bool doBasicTokenize = true,
        IEnumerable<string>? neverSplit = null, bool tokenizeChineseChars = true, bool? stripAccents = null,
        string unkToken = "[UNK]", string sepToken = "[SEP]", string padToken = "[PAD]", string clsToken = "[CLS]",
        string maskToken = "[MASK]", long? modelMaxLength = null, string source = VocabFile)
    {
        Vocab = vocab ?? throw new ArgumentNullException(nameof(vocab));
        DoLowerCase = doLowerCase;
        DoBasicTokenize = doBasicTokenize;
        NeverSplit = neverSplit?.ToArray();
        TokenizeChineseChars = tokenizeChineseChars;
        StripAccents = stripAccents;
        (UnkToken, SepToken, PadToken, ClsToken, MaskToken) = (unkToken, sepToken, padToken, clsToken, maskToken);
        if (modelMaxLength is <= 0) throw new ArgumentOutOfRangeException(nameof(modelMaxLength), modelMaxLength, "must be positive (null = no limit)");
        ModelMaxLength = modelMaxLength;

        UnkTokenId = Require(unkToken, "unk_token");
        ClsTokenId = Require(clsToken, "cls_token");
        SepTokenId = Require(sepToken, "sep_token");
        PadTokenId = Require(padToken, "pad_token");
        MaskTokenId = vocab.TryGetId(maskToken, out var mask) ? mask : null;

        specialTokens = new[] { unkToken, sepToken, padToken, clsToken, maskToken }.Distinct().OrderByDescending(t => t.Length).ToArray();
        specialIds = [.. specialTokens.Select(ConvertTokenToId)];
        if (doBasicTokenize) basic = new BasicTokenizer(doLowerCase, NeverSplit, tokenizeChineseChars, stripAccents);
        keepWhole = new HashSet<string>((NeverSplit ?? []).Concat(specialTokens), StringComparer.Ordinal);
        wordPiece = new WordPiece(vocab.TokenToId, unkToken);

        int Require(string token, string field) => vocab.TryGetId(token, out var id) ? id
            : throw new CheckpointException(source, $"the vocabulary has no {field} \"{token}\" (a BERT vocabulary needs [UNK], [CLS], [SEP] and [PAD])", token);
    }

    public Vocabulary Vocab { get; }
    /// <summary>HF <c>vocab_size</c>: the number of distinct tokens in vocab.txt.</summary>
    public int VocabSize => Vocab.Count;
    public bool DoLowerCase { get; }
    public bool DoBasicTokenize { get; }
    public IReadOnlyList<string>? NeverSplit { get; }
    public bool TokenizeChineseChars { get; }
    public bool? StripAccents { get; }
    public string UnkToken { get; }
    public string SepToken { get; }
    public string PadToken { get; }
    public string ClsToken { get; }
    public string MaskToken { get; }
    public int UnkTokenId { get; }
    public int ClsTokenId { get; }
    public int SepTokenId { get; }
    public int PadTokenId { get; }
    /// <summary>Id of the mask token, null when the vocabulary lacks it.</summary>
    public int? MaskTokenId { get; }
    /// <summary>HF <c>model_max_length</c>; null = no limit (no tokenizer_config.json, or a value ≥ 1e18).</summary>
    public long? ModelMaxLength { get; }
    public string PaddingSide => "right";
    /// <summary>The special tokens (HF <c>all_special_tokens</c>).</summary>
    public IReadOnlyList<string> AllSpecialTokens => [UnkToken, SepToken, PadToken, ClsToken, MaskToken];

    // ---- Loading and saving --------------------------------------------------------------------------------------

    /// <summary>
    /// Reads a tokenizer folder as HF's <c>BertTokenizer.from_pretrained(folder)</c>: vocab.txt, and when present
    /// tokenizer_config.json then special_tokens_map.json (whose tokens win). No tokenizer_config.json, or no
    /// model_max_length in it, means no length limit.
    /// </summary>
    public static BertTokenizer FromPretrained(string folder)
    {
        if (!Directory.Exists(folder)) throw new CheckpointException(folder, "tokenizer folder not found" + PathDisplay.FullPathNote(folder));
        var vocabPath = Path.Combine(folder, VocabFile);
        var vocab = Vocabulary.Load(vocabPath);

        bool doLowerCase = true, doBasicTokenize = true, tokenizeChinese = true;
        bool? stripAccents = null;
        List<string>? neverSplit = null;
        long? maxLength = null;
        var tokens = new Dictionary<string, string>
        {
            ["unk_token"] = "[UNK]", ["sep_token"] = "[SEP]", ["pad_token"] = "[PAD]", ["cls_token"] = "[CLS]", ["mask_token"] = "[MASK]",
        };

        var configPath = Path.Combine(folder, TokenizerConfigFile);
        if (TokenizerJson.ReadObject(configPath) is { } config)
        {
            doLowerCase = TokenizerJson.Bool(config, "do_lower_case", configPath) ?? doLowerCase;
            doBasicTokenize = TokenizerJson.Bool(config, "do_basic_tokenize", configPath) ?? doBasicTokenize;
            tokenizeChinese = TokenizerJson.Bool(config, "tokenize_chinese_chars", configPath) ?? tokenizeChinese;
            stripAccents = TokenizerJson.Bool(config, "strip_accents", configPath, nullable: true);
            neverSplit = TokenizerJson.StringList(config, "never_split", configPath);
            maxLength = TokenizerJson.MaxLength(config, "model_max_length", configPath, out _);
            foreach (var key in tokens.Keys.ToArray())
                if (TokenizerJson.Token(config, key, configPath) is { } t) tokens[key] = t;
        }
        var mapPath = Path.Combine(folder, SpecialTokensMapFile);
        if (TokenizerJson.ReadObject(mapPath) is { } map)
            foreach (var key in tokens.Keys.ToArray())
                if (TokenizerJson.Token(map, key, mapPath) is { } t) tokens[key] = t;

        return new BertTokenizer(vocab, doLowerCase, doBasicTokenize, neverSplit, tokenizeChinese, stripAccents,
            tokens["unk_token"], tokens["sep_token"], tokens["pad_token"], tokens["cls_token"], tokens["mask_token"],
            maxLength, vocabPath);
    }

    /// <summary>
    /// Writes vocab.txt, tokenizer_config.json and special_tokens_map.json (HF 4.26's keys, sorted, indent 2), each
    /// atomically. <see cref="FromPretrained"/> reads the same tokenizer back; vocab.txt keeps every original line,
    /// so ids are unchanged even with duplicate lines.
    /// </summary>
    public void SavePretrained(string folder)
    {
        Directory.CreateDirectory(folder);
        Vocab.Save(Path.Combine(folder, VocabFile));
        AtomicFile.WriteAllText(Path.Combine(folder, TokenizerConfigFile), WriteJson(w =>
        {
            w.WriteString("cls_token", ClsToken);
            w.WriteBoolean("do_basic_tokenize", DoBasicTokenize);
            w.WriteBoolean("do_lower_case", DoLowerCase);
            w.WriteString("mask_token", MaskToken);
            w.WritePropertyName("model_max_length");
            if (ModelMaxLength is { } m) w.WriteNumberValue(m); else w.WriteRawValue(TokenizerJson.VeryLargeInteger);
            if (NeverSplit is null) w.WriteNull("never_split");
            else
            {
                w.WriteStartArray("never_split");
                foreach (var s in NeverSplit) w.WriteStringValue(s);
                w.WriteEndArray();
            }
            w.WriteString("pad_token", PadToken);
            w.WriteString("sep_token", SepToken);
            w.WriteNull("special_tokens_map_file");
            if (StripAccents is { } sa) w.WriteBoolean("strip_accents", sa); else w.WriteNull("strip_accents");
            w.WriteBoolean("tokenize_chinese_chars", TokenizeChineseChars);
            w.WriteString("tokenizer_class", "BertTokenizer");
            w.WriteString("unk_token", UnkToken);
        }));
        AtomicFile.WriteAllText(Path.Combine(folder, SpecialTokensMapFile), WriteJson(w =>
        {
            w.WriteString("cls_token", ClsToken);
            w.WriteString("mask_token", MaskToken);
            w.WriteString("pad_token", PadToken);
            w.WriteString("sep_token", SepToken);
            w.WriteString("unk_token", UnkToken);
        }));
    }

    static string WriteJson(Action<Utf8JsonWriter> body)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions
               { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(stream.ToArray()).Replace("\r\n", "\n") + "\n";
    }

    // ---- Tokens and ids --------------------------------------------------------------------------------------------

    /// <summary>HF <c>tokenizer.tokenize(text)</c>: word-piece tokens, no [CLS]/[SEP] added.</summary>
    public List<string> Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var output = new List<string>();
        // HF lower-cases everything but the special tokens first, then splits the special tokens off (tokens_trie).
        if (DoLowerCase) text = LowerExceptSpecial(text);
        var pos = 0;
        var pieceStart = 0;
        while (pos < text.Length)
        {
            if (MatchSpecial(text, pos) is { } special)
            {
                TokenizePlain(text[pieceStart..pos], output);
                output.Add(special);
                pos += special.Length;
                pieceStart = pos;
            }
            else pos++;
        }
        TokenizePlain(text[pieceStart..], output);
        return output;
    }

    void TokenizePlain(string text, List<string> output)
    {
        if (text.Length == 0) return;
        if (basic is null) { wordPiece.Tokenize(text, output); return; }
        foreach (var token in basic.TokenizeKeeping(text, keepWhole))
        {
            if (basic.NeverSplit.Contains(token)) output.Add(token);
            else wordPiece.TokenizeWord(token, output);
        }
    }

    string? MatchSpecial(string text, int pos)
    {
        foreach (var s in specialTokens)
            if (s.Length > 0 && pos + s.Length <= text.Length && string.CompareOrdinal(text, pos, s, 0, s.Length) == 0) return s;
        return null;
    }

    string LowerExceptSpecial(string text)
    {
        var sb = new StringBuilder(text.Length);
        var pos = 0;
        var plainStart = 0;
        while (pos < text.Length)
        {
            if (MatchSpecial(text, pos) is { } special)
            {
                sb.Append(PythonText.Lower(text[plainStart..pos])).Append(special);
                pos += special.Length;
                plainStart = pos;
            }
            else pos++;
        }
        sb.Append(PythonText.Lower(text[plainStart..]));
        return sb.ToString();
    }

    /// <summary>The id of a token; the unknown token's id for a token not in the vocabulary.</summary>
    public int ConvertTokenToId(string token) => Vocab.TryGetId(token, out var id) ? id : UnkTokenId;

    public int[] ConvertTokensToIds(IEnumerable<string> tokens) => tokens.Select(ConvertTokenToId).ToArray();

    /// <summary>The token of one id (what <see cref="Encoding.Tokens"/> shows); the unknown token for an unknown id.</summary>
    string TokenOf(int id) => Vocab.TryGetToken(id, out var t) ? t : UnkToken;

    /// <summary>The token of each id; the unknown token for an id no token maps to.</summary>
    public string[] ConvertIdsToTokens(int[] ids, bool skipSpecialTokens = false) =>
        ids.Where(id => !skipSpecialTokens || !specialIds.Contains(id))
           .Select(id => Vocab.TryGetToken(id, out var t) ? t : UnkToken).ToArray();

    /// <summary>
    /// HF <c>decode</c>: tokens joined with spaces, " ##" removed, then (by default) <c>clean_up_tokenization</c>
    /// (" ." → ".", " ?" → "?", " !" → "!", " ," → ",", " ' " → "'", " n't" → "n't", " 'm", " 's", " 've", " 're").
    /// </summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false, bool cleanUpTokenizationSpaces = true)
    {
        var text = string.Join(" ", ConvertIdsToTokens(ids.ToArray(), skipSpecialTokens)).Replace(" ##", "").Trim();
        return cleanUpTokenizationSpaces ? CleanUpTokenization(text) : text;
    }

    /// <summary>HF <c>PreTrainedTokenizerBase.clean_up_tokenization</c>.</summary>
    public static string CleanUpTokenization(string text) => text
        .Replace(" .", ".").Replace(" ?", "?").Replace(" !", "!").Replace(" ,", ",").Replace(" ' ", "'")
        .Replace(" n't", "n't").Replace(" 'm", "'m").Replace(" 's", "'s").Replace(" 've", "'ve").Replace(" 're", "'re");

    // ---- Encoding -----------------------------------------------------------------------------------------------

    /// <summary>
    /// HF <c>tokenizer(text, text_pair, ...)</c> for one example. <paramref name="truncation"/>: null (HF default:
    /// no truncation unless <paramref name="maxLength"/> is given without padding), true (use
    /// <paramref name="strategy"/>), false. Without <paramref name="maxLength"/>, truncation and max-length padding
    /// use <see cref="ModelMaxLength"/>, and are skipped with HF's warning when that is unlimited.
    /// </summary>
    public Encoding Encode(string text, string? textPair = null, bool addSpecialTokens = true, bool? truncation = null,
        int? maxLength = null, Padding padding = Padding.None, TruncationStrategy strategy = TruncationStrategy.LongestFirst)
    {
        var (pad, trunc, max) = ResolveStrategies(truncation, maxLength, padding, strategy);
        long before = TruncatedPairs;
        var encoding = Prepare(text, textPair, addSpecialTokens, trunc, max);
        WarnOverflowOnce(before, 1);
        var target = pad switch { Padding.MaxLength => max, Padding.Longest => encoding.Length, _ => null };
        return target is { } t ? PadTo(encoding, t) : encoding;
    }

    /// <summary>
    /// HF's batched <c>tokenizer(texts, text_pairs, truncation=..., max_length=..., padding=...)</c>: one
    /// <see cref="Encoding"/> per text, padded together (<see cref="Padding.Longest"/> pads to the longest of the call).
    /// </summary>
    public BatchEncoding Call(IReadOnlyList<string> texts, IReadOnlyList<string>? textPairs = null, bool? truncation = null,
        int? maxLength = null, Padding padding = Padding.None, TruncationStrategy strategy = TruncationStrategy.LongestFirst,
        bool addSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (textPairs is not null && textPairs.Count != texts.Count)
            throw new ArgumentException($"textPairs has {textPairs.Count} entries but texts has {texts.Count}", nameof(textPairs));
        var (pad, trunc, max) = ResolveStrategies(truncation, maxLength, padding, strategy);
        var encodings = new Encoding[texts.Count];
        long before = TruncatedPairs;
        for (var i = 0; i < texts.Count; i++) encodings[i] = Prepare(texts[i], textPairs?[i], addSpecialTokens, trunc, max);
        WarnOverflowOnce(before, texts.Count);
        int? target = pad switch
        {
            Padding.MaxLength => max,
            Padding.Longest => encodings.Length == 0 ? 0 : encodings.Max(e => e.Length),
            _ => null,
        };
        return new BatchEncoding(target is { } t ? encodings.Select(e => PadTo(e, t)) : encodings);
    }

    long truncatedPairs;
    bool warnedOverflow;

    /// <summary>How many sentence pairs this tokenizer has truncated with <see cref="TruncationStrategy.LongestFirst"/>
    /// (overflowing tokens are not returned for those).</summary>
    public long TruncatedPairs => Interlocked.Read(ref truncatedPairs);

    /// <summary>HF's "Be aware, overflowing tokens are not returned…" warning, once per tokenizer (HF logs it for every
    /// truncated pair), with the count of the call that first truncated; <see cref="TruncatedPairs"/> keeps counting.</summary>
    void WarnOverflowOnce(long before, int pairs)
    {
        long truncated = TruncatedPairs - before;
        if (truncated == 0 || warnedOverflow) return;
        warnedOverflow = true;
        Logging.Warning("Be aware, overflowing tokens are not returned for the setting you have chosen, i.e. sequence pairs with the "
            + $"'longest_first' truncation strategy. So the returned list will always be empty even if some tokens have been removed. "
            + $"({truncated:N0} of {pairs:N0} pairs truncated here; said once per tokenizer, counted in TruncatedPairs.)");
    }

    /// <summary>HF <c>_get_padding_truncation_strategies</c>.</summary>
    (Padding, TruncationStrategy, int?) ResolveStrategies(bool? truncation, int? maxLength, Padding padding, TruncationStrategy strategy)
    {
        if (maxLength is <= 0) throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, "must be positive");
        TruncationStrategy trunc;
        if (maxLength is not null && padding == Padding.None && truncation is null)
        {
            Logging.Warning(ImplicitTruncationWarning);
            trunc = TruncationStrategy.LongestFirst;
        }
        else trunc = truncation == true ? strategy : TruncationStrategy.DoNotTruncate;

        var max = maxLength;
        if (max is null)
        {
            if (padding == Padding.MaxLength)
            {
                if (ModelMaxLength is null) { Logging.Warning(NoPaddingWarning); padding = Padding.None; }
                else max = (int)Math.Min(ModelMaxLength.Value, int.MaxValue);
            }
            if (trunc != TruncationStrategy.DoNotTruncate)
            {
                if (ModelMaxLength is null)
                {
                    // HF warns once per tokenizer (its deprecation_warnings["Asking-to-truncate-to-max_length"] flag).
                    if (!warnedNoTruncation) Logging.Warning(NoTruncationWarning);
                    warnedNoTruncation = true;
                    trunc = TruncationStrategy.DoNotTruncate;
                }
                else max = (int)Math.Min(ModelMaxLength.Value, int.MaxValue);
            }
        }
        return (padding, trunc, max);
    }

    /// <summary>HF <c>prepare_for_model</c> without padding.</summary>
    Encoding Prepare(string text, string? textPair, bool addSpecialTokens, TruncationStrategy trunc, int? maxLength)
    {
        var ids = ConvertTokensToIds(Tokenize(text));
        var pairIds = textPair is null ? null : ConvertTokensToIds(Tokenize(textPair));
        var special = addSpecialTokens ? (pairIds is null ? 2 : 3) : 0;
        var total = ids.Length + (pairIds?.Length ?? 0) + special;
        if (trunc != TruncationStrategy.DoNotTruncate && maxLength is { } max && total > max)
        {
            // Fewer places than special tokens: nothing of the text could stay (and the slices below would go negative).
            if (max < special)
                throw new ArgumentOutOfRangeException(nameof(maxLength), max,
                    $"must be at least {special} to hold the special tokens ({(pairIds is null ? "[CLS] and [SEP]" : "[CLS], [SEP] and [SEP]")}) when truncating");
            (ids, pairIds) = Truncate(ids, pairIds, total - max, trunc);
            if (pairIds is not null && trunc == TruncationStrategy.LongestFirst) Interlocked.Increment(ref truncatedPairs);
        }

        int[] inputIds, typeIds;
        if (addSpecialTokens)
        {
            inputIds = pairIds is null ? [ClsTokenId, .. ids, SepTokenId] : [ClsTokenId, .. ids, SepTokenId, .. pairIds, SepTokenId];
            typeIds = new int[inputIds.Length];
            if (pairIds is not null) Array.Fill(typeIds, 1, ids.Length + 2, pairIds.Length + 1);
        }
        else
        {
            inputIds = pairIds is null ? ids : [.. ids, .. pairIds];
            typeIds = new int[inputIds.Length];   // HF: all zeros without special tokens
        }
        if (maxLength is null && ModelMaxLength is { } limit && inputIds.Length > limit && !warnedTooLong)
        {
            warnedTooLong = true;
            Logging.Warning($"Token indices sequence length is longer than the specified maximum sequence length for this model ({inputIds.Length} > {limit}). Running this sequence through the model will result in indexing errors");
        }
        var mask = new int[inputIds.Length];
        Array.Fill(mask, 1);
        return new Encoding(inputIds, typeIds, mask) { TokenOf = TokenOf };
    }

    /// <summary>
    /// HF <c>truncate_sequences</c> (stride 0). Where HF logs an error and returns the sequences untruncated
    /// (only_first / only_second / a single sequence that cannot lose that many tokens), this throws instead, with
    /// HF's message: the untruncated result would not fit the model anyway.
    /// </summary>
    static (int[] Ids, int[]? PairIds) Truncate(int[] ids, int[]? pairIds, int remove, TruncationStrategy strategy)
    {
        if (strategy == TruncationStrategy.OnlyFirst || (strategy == TruncationStrategy.LongestFirst && pairIds is null))
        {
            if (ids.Length > remove) return (ids[..^remove], pairIds);
            var msg = $"We need to remove {remove} to truncate the input but the first sequence has a length {ids.Length}. ";
            if (strategy == TruncationStrategy.OnlyFirst)
                msg += "Please select another truncation strategy than only_first, for instance 'longest_first' or 'only_second'.";
            throw new ArgumentException(msg.TrimEnd());
        }
        if (strategy == TruncationStrategy.LongestFirst)
        {
            // HF 4.26 logs "Be aware, overflowing tokens are not returned…" for every pair it truncates with longest_first
            // (3,860 lines for MRPC at length 32): here the caller counts them and says it once (WarnOverflowOnce).
            int a = ids.Length, b = pairIds!.Length;
            for (var i = 0; i < remove; i++)
            {
                if (a > b) a--;
                else b--;
            }
            return (ids[..a], pairIds[..b]);
        }
        if (strategy == TruncationStrategy.OnlySecond && pairIds is not null)
        {
            if (pairIds.Length > remove) return (ids, pairIds[..^remove]);
            throw new ArgumentException($"We need to remove {remove} to truncate the input but the second sequence has a length {pairIds.Length}. " +
                "Please select another truncation strategy than only_second, for instance 'longest_first' or 'only_first'.");
        }
        return (ids, pairIds);
    }

    /// <summary>Pads on the right to <paramref name="length"/> (pad id, attention 0, token type 0); longer stays as is.</summary>
    Encoding PadTo(Encoding e, int length)
    {
        if (e.Length >= length) return e;
        var ids = new int[length];
        var types = new int[length];
        var mask = new int[length];
        e.InputIds.CopyTo(ids, 0);
        e.TokenTypeIds.CopyTo(types, 0);
        e.AttentionMask.CopyTo(mask, 0);
        Array.Fill(ids, PadTokenId, e.Length, length - e.Length);
        return new Encoding(ids, types, mask) { TokenOf = TokenOf };
    }
}
