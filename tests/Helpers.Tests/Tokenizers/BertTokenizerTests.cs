using System.Text.RegularExpressions;
using FineTuning.Tokenizers;

namespace FineTuning.Tests.Tokenizers;

/// <summary>Small inline vocabulary (ML.NET BertTokenizerTests style): exact ids, decoding, truncation, padding.</summary>
public class BertTokenizerTests
{
    static readonly string[] VocabLines =
    [
        "[PAD]",    // 0
        "[UNK]",    // 1
        "[CLS]",    // 2
        "[SEP]",    // 3
        "[MASK]",   // 4
        "hello",    // 5
        "world",    // 6
        "$",        // 7
        "!",        // 8
        "cafe",     // 9
        "un",       // 10
        "##aff",    // 11
        "##able",   // 12
        ",",        // 13
        "a",        // 14
        ".",        // 15
    ];

    static BertTokenizer Tok(long? max = null) => new(Vocabulary.FromLines(VocabLines), modelMaxLength: max);

    [Fact]
    public void Exact_Ids_For_Simple_Strings()
    {
        var tok = Tok();
        Assert.Equal([2, 5, 13, 6, 8, 3], tok.Encode("Hello, WORLD!").InputIds);
        Assert.Equal(["un", "##aff", "##able"], tok.Tokenize("unaffable"));
        Assert.Equal([2, 10, 11, 12, 3], tok.Encode("UNAFFABLE").InputIds);
        Assert.Equal(16, tok.VocabSize);
        Assert.Equal((0, 1, 2, 3, 4), (tok.PadTokenId, tok.UnkTokenId, tok.ClsTokenId, tok.SepTokenId, tok.MaskTokenId!.Value));
    }

    [Fact]
    public void Dollar_Is_Kept_And_Newline_Splits_Words()
    {
        var tok = Tok();
        Assert.Equal(["$", "hello"], tok.Tokenize("$hello"));
        Assert.Equal(["hello", "world"], tok.Tokenize("hello\nworld"));
        Assert.Equal(["hello", "world"], tok.Tokenize("hello\tworld"));
    }

    [Fact]
    public void Accents_Are_Stripped_When_Lower_Casing()
    {
        Assert.Equal(["cafe"], Tok().Tokenize("Café"));
        Assert.Equal(["cafe"], Tok().Tokenize("CAFE\u0301"));
        var cased = new BertTokenizer(Vocabulary.FromLines(VocabLines), doLowerCase: false);
        Assert.Equal(["[UNK]"], cased.Tokenize("café"));   // accents kept, so not in the vocabulary
    }

    [Fact]
    public void Unknown_Words_And_Words_Over_100_Chars_Become_Unk()
    {
        var tok = Tok();
        Assert.Equal(["[UNK]"], tok.Tokenize("xyz"));
        Assert.Equal(["[UNK]"], tok.Tokenize("hellox"));            // no full decomposition
        Assert.Equal(["[UNK]", "a"], tok.Tokenize(new string('a', 101) + " a"));
        var vocab = Vocabulary.FromLines([.. VocabLines, "##a"]);
        Assert.Equal(100, new BertTokenizer(vocab).Tokenize(new string('a', 100)).Count);   // 100 is still split
    }

    [Fact]
    public void Word_Length_Counts_Code_Points_Not_Utf16_Units()
    {
        // 60 emoji = 120 UTF-16 units but 60 code points (Python len): under the 100 limit, so split, not [UNK].
        var tok = new BertTokenizer(Vocabulary.FromLines([.. VocabLines, "\U0001F600", "##\U0001F600"]));
        var tokens = tok.Tokenize(string.Concat(Enumerable.Repeat("\U0001F600", 60)));
        Assert.Equal(60, tokens.Count);
        Assert.Equal("\U0001F600", tokens[0]);
        Assert.Equal("##\U0001F600", tokens[59]);
        Assert.Equal(["[UNK]"], tok.Tokenize(string.Concat(Enumerable.Repeat("\U0001F600", 101))));
    }

    [Fact]
    public void Special_Tokens_In_Text_Only_In_Exact_Case()
    {
        var tok = Tok();
        Assert.Equal(["hello", "[MASK]", "world"], tok.Tokenize("hello[MASK]world"));
        Assert.Equal(["[UNK]", "[UNK]", "[UNK]"], tok.Tokenize("[mask]"));   // "[" "mask" "]" are not in the vocab
    }

    [Fact]
    public void Decode_Round_Trip_And_Ids_To_Tokens()
    {
        var tok = Tok();
        var ids = tok.Encode("Hello, world! unaffable.").InputIds;
        Assert.Equal("[CLS] hello, world! unaffable. [SEP]", tok.Decode(ids));
        Assert.Equal("hello, world! unaffable.", tok.Decode(ids, skipSpecialTokens: true));
        Assert.Equal(["[CLS]", "un", "##aff", "[UNK]"], tok.ConvertIdsToTokens([2, 10, 11, 999]));
        Assert.Equal([5, 1], tok.ConvertTokensToIds(["hello", "nope"]));
    }

    [Fact]
    public void Longest_First_Removes_From_The_Longer_And_From_The_Second_On_Ties()
    {
        var tok = Tok();
        // 3 + 3 words + 3 specials = 9; max 7 removes 2: tie -> second, then first is longer -> first.
        var e = tok.Encode("hello world a", "hello world a", truncation: true, maxLength: 7);
        Assert.Equal([2, 5, 6, 3, 5, 6, 3], e.InputIds);
        var log = new StringWriter();
        var old = Logging.Writer;
        Logging.Writer = log;
        Encoding tie;
        try { tie = Tok().Encode("hello world", "hello world", truncation: true, maxLength: 6); }
        finally { Logging.Writer = old; }
        Assert.Contains("Be aware, overflowing tokens are not returned", log.ToString());   // HF 4.26 logs it per truncated pair; here once per tokenizer
        Assert.Equal([2, 5, 6, 3, 5, 3], tie.InputIds);
        Assert.Equal([0, 0, 0, 0, 1, 1], tie.TokenTypeIds);
    }

    [Fact]
    public void The_Overflow_Warning_Is_Said_Once_Per_Tokenizer_With_A_Count()
    {
        var tok = Tok();
        var pairs = Enumerable.Repeat("hello world a", 50).ToArray();
        var log = FineTuning.Tests.Hub.HubTestSettings.CaptureLog(() =>
        {
            tok.Call(pairs, pairs, truncation: true, maxLength: 7);
            tok.Call(pairs, pairs, truncation: true, maxLength: 7);
        });
        // HF 4.26 logs one line per truncated pair: 3,860 of 3,897 console lines for MRPC at length 32.
        Assert.Single(Regex.Matches(log, "Be aware, overflowing tokens are not returned"));
        Assert.Contains("(50 of 50 pairs truncated here; said once per tokenizer, counted in TruncatedPairs.)", log);
        Assert.Equal(100, tok.TruncatedPairs);
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, true)]
    public void A_Max_Length_Shorter_Than_The_Special_Tokens_Names_The_Minimum(int maxLength, bool pair)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Tok().Encode("hello world a", pair ? "hello world" : null, truncation: true, maxLength: maxLength));
        Assert.Equal("maxLength", e.ParamName);
        Assert.StartsWith($"must be at least {(pair ? 3 : 2)} to hold the special tokens", e.Message);
    }

    [Fact]
    public void Only_First_And_Only_Second()
    {
        var tok = Tok();
        Assert.Equal([2, 5, 3, 5, 6, 14, 3], tok.Encode("hello world a", "hello world a", truncation: true, maxLength: 7, strategy: TruncationStrategy.OnlyFirst).InputIds);
        Assert.Equal([2, 5, 6, 14, 3, 5, 3], tok.Encode("hello world a", "hello world a", truncation: true, maxLength: 7, strategy: TruncationStrategy.OnlySecond).InputIds);
        var ex = Assert.Throws<ArgumentException>(() =>
            tok.Encode("hello world a", "hello", truncation: true, maxLength: 5, strategy: TruncationStrategy.OnlySecond));
        Assert.Contains("We need to remove 2 to truncate the input but the second sequence has a length 1", ex.Message);
        Assert.Contains("only_second", ex.Message);
    }

    [Fact]
    public void Truncation_Without_Max_Length_Uses_The_Model_Maximum_Or_Warns()
    {
        Assert.Equal(4, Tok(max: 4).Encode("hello world a", truncation: true).Length);
        var log = new StringWriter();
        var old = Logging.Writer;
        Logging.Writer = log;
        var tok = Tok();
        try
        {
            Assert.Equal(5, tok.Encode("hello world a", truncation: true).Length);
            Assert.Equal(5, tok.Encode("hello world a", truncation: true).Length);
        }
        finally { Logging.Writer = old; }
        const string warning = "Asking to truncate to max_length but no maximum length is provided and the model has no predefined maximum length. Default to no truncation.";
        Assert.Contains(warning, log.ToString());
        Assert.Equal(log.ToString().IndexOf(warning), log.ToString().LastIndexOf(warning)); // once per tokenizer, as HF
    }

    [Fact]
    public void Padding_Longest_And_Max_Length()
    {
        var tok = Tok();
        var longest = tok.Call(["hello", "hello world a"], padding: Padding.Longest);
        Assert.Equal([2, 5, 3, 0, 0], longest.InputIds[0]);
        Assert.Equal([1, 1, 1, 0, 0], longest.AttentionMask[0]);
        Assert.Equal([0, 0, 0, 0, 0], longest.TokenTypeIds[0]);
        Assert.Equal([2, 5, 6, 14, 3], longest.InputIds[1]);
        var max = tok.Call(["hello"], ["world"], truncation: true, maxLength: 7, padding: Padding.MaxLength);
        Assert.Equal([2, 5, 3, 6, 3, 0, 0], max[0].InputIds);
        Assert.Equal([0, 0, 0, 1, 1, 0, 0], max[0].TokenTypeIds);
        Assert.Equal([1, 1, 1, 1, 1, 0, 0], max[0].AttentionMask);
    }

    [Fact]
    public void BatchEncoding_Is_A_Dictionary_Of_Lists_Of_Arrays()
    {
        IReadOnlyDictionary<string, System.Collections.IList> batch = Tok().Call(["hello", "world"]);
        Assert.Equal(["input_ids", "token_type_ids", "attention_mask"], batch.Keys);
        var ids = Assert.IsType<List<int[]>>(batch["input_ids"]);
        Assert.Equal(2, ids.Count);
        Assert.Equal([2, 6, 3], ids[1]);
        Assert.False(batch.ContainsKey("labels"));
    }
}
