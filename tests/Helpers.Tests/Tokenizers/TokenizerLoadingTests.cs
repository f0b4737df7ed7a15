using FineTuning.Tokenizers;

namespace FineTuning.Tests.Tokenizers;

/// <summary>FromPretrained / SavePretrained / AutoTokenizer, and bad tokenizer folders with clear messages.</summary>
public sealed class TokenizerLoadingTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("tok-tests-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    string Write(string name, string text)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    const string GoodVocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\n";

    [Fact]
    public void Missing_Vocab_Names_The_File()
    {
        var ex = Assert.Throws<CheckpointException>(() => BertTokenizer.FromPretrained(dir));
        Assert.Equal(Path.Combine(dir, "vocab.txt"), ex.FilePath);
        Assert.Contains("vocab.txt", ex.Message);
        Assert.Contains("not found", ex.Message);
    }

    [Fact]
    public void Empty_Vocab_Is_Rejected()
    {
        var path = Write("vocab.txt", "");
        var ex = Assert.Throws<CheckpointException>(() => BertTokenizer.FromPretrained(dir));
        Assert.Equal(path, ex.FilePath);
        Assert.Contains("empty", ex.Message);
    }

    [Theory]
    [InlineData("[UNK]", "unk_token")]
    [InlineData("[CLS]", "cls_token")]
    [InlineData("[SEP]", "sep_token")]
    [InlineData("[PAD]", "pad_token")]
    public void Vocab_Without_A_Required_Special_Token_Is_Rejected(string token, string field)
    {
        var path = Write("vocab.txt", GoodVocab.Replace(token + "\n", ""));
        var ex = Assert.Throws<CheckpointException>(() => BertTokenizer.FromPretrained(dir));
        Assert.Equal(path, ex.FilePath);
        Assert.Equal(token, ex.Key);
        Assert.Contains(field, ex.Message);
        Assert.Contains(token, ex.Message);
    }

    [Fact]
    public void Duplicate_Vocab_Lines_Keep_The_Last_Id_Like_HF()
    {
        Write("vocab.txt", GoodVocab + "hello\n");   // "hello" on lines 5 and 7
        var tok = BertTokenizer.FromPretrained(dir);
        Assert.Equal(7, tok.VocabSize);                       // distinct tokens (HF len(vocab))
        Assert.Equal([2, 7, 3], tok.Encode("hello").InputIds);
        Assert.Equal(["[UNK]", "hello"], tok.ConvertIdsToTokens([5, 7]));   // id 5 no longer maps to a token
    }

    [Fact]
    public void Crlf_Vocab_Reads_Like_Python_Universal_Newlines()
    {
        Write("vocab.txt", GoodVocab.Replace("\n", "\r\n"));
        Assert.Equal([2, 5, 6, 3], BertTokenizer.FromPretrained(dir).Encode("hello world").InputIds);
    }

    [Fact]
    public void Invalid_Json_Names_File_And_Position()
    {
        Write("vocab.txt", GoodVocab);
        var path = Write("tokenizer_config.json", "{\n  \"do_lower_case\": true,\n  \"model_max_length\": 512,,\n}");
        var ex = Assert.Throws<CheckpointException>(() => BertTokenizer.FromPretrained(dir));
        Assert.Equal(path, ex.FilePath);
        Assert.Contains("invalid JSON at line 3", ex.Message);
    }

    [Fact]
    public void Wrong_Type_For_Do_Lower_Case_Names_The_Field()
    {
        Write("vocab.txt", GoodVocab);
        var path = Write("tokenizer_config.json", "{\"do_lower_case\": \"yes\"}");
        var ex = Assert.Throws<CheckpointException>(() => BertTokenizer.FromPretrained(dir));
        Assert.Equal(path, ex.FilePath);
        Assert.Equal("do_lower_case", ex.Key);
        Assert.Contains("'do_lower_case' must be true or false", ex.Message);
        Assert.Contains("\"yes\"", ex.Message);
    }

    [Fact]
    public void Config_Fields_Are_Read()
    {
        Write("vocab.txt", GoodVocab + "Hello\n");
        Write("tokenizer_config.json", "{\"do_lower_case\": false, \"model_max_length\": 512, \"never_split\": [\"hello!\"]}");
        var tok = BertTokenizer.FromPretrained(dir);
        Assert.False(tok.DoLowerCase);
        Assert.Equal(512, tok.ModelMaxLength);
        Assert.Equal([2, 7, 3], tok.Encode("Hello").InputIds);
        // HF: a never_split word skips WordPiece entirely (the token stays whole), so its id is [UNK]'s.
        Assert.Equal(["hello!"], tok.Tokenize("hello!"));
        Assert.Equal([2, 1, 3], tok.Encode("hello!").InputIds);
    }

    [Theory]
    [InlineData("1000000000000000019884624838656")]
    [InlineData("1e+30")]
    [InlineData("1000000000000000000")]
    public void Huge_Model_Max_Length_Means_No_Limit(string literal)
    {
        Write("vocab.txt", GoodVocab);
        Write("tokenizer_config.json", $"{{\"model_max_length\": {literal}}}");
        Assert.Null(BertTokenizer.FromPretrained(dir).ModelMaxLength);
    }

    [Fact]
    public void Special_Tokens_Map_Overrides_The_Config()
    {
        Write("vocab.txt", GoodVocab + "<unk>\n");
        Write("tokenizer_config.json", "{\"unk_token\": \"[UNK]\"}");
        Write("special_tokens_map.json", "{\"unk_token\": {\"content\": \"<unk>\", \"lstrip\": false}}");
        var tok = BertTokenizer.FromPretrained(dir);
        Assert.Equal(7, tok.UnkTokenId);
        Assert.Equal("<unk>", tok.UnkToken);
    }

    [Fact]
    public void Save_Then_Load_Reads_The_Same_Tokenizer()
    {
        Write("vocab.txt", GoodVocab + "hello\n");
        Write("tokenizer_config.json", "{\"do_lower_case\": false, \"model_max_length\": 64, \"strip_accents\": true, \"never_split\": [\"x.y\"]}");
        var tok = BertTokenizer.FromPretrained(dir);
        var saved = Path.Combine(dir, "saved");
        tok.SavePretrained(saved);
        var back = BertTokenizer.FromPretrained(saved);
        Assert.Equal(File.ReadAllText(Path.Combine(dir, "vocab.txt")), File.ReadAllText(Path.Combine(saved, "vocab.txt")));
        Assert.Equal((tok.DoLowerCase, tok.StripAccents, tok.ModelMaxLength, tok.VocabSize), (back.DoLowerCase, back.StripAccents, back.ModelMaxLength, back.VocabSize));
        Assert.Equal(tok.NeverSplit, back.NeverSplit);
        Assert.Equal(tok.Encode("hello World").InputIds, back.Encode("hello World").InputIds);
        Assert.Empty(Directory.GetFiles(saved, "*.tmp-*"));
        var config = File.ReadAllText(Path.Combine(saved, "tokenizer_config.json"));
        Assert.Contains("\"tokenizer_class\": \"BertTokenizer\"", config);
        Assert.Equal("{\n  \"cls_token\": \"[CLS]\",\n  \"mask_token\": \"[MASK]\",\n  \"pad_token\": \"[PAD]\",\n  \"sep_token\": \"[SEP]\",\n  \"unk_token\": \"[UNK]\"\n}\n",
            File.ReadAllText(Path.Combine(saved, "special_tokens_map.json")));
    }

    [FixtureFact("fixtures", "tokenization.jsonl")]
    public void Fixture_Round_Trip_Gives_Identical_Ids_On_The_Pairs()
    {
        var tok = BertTokenizer.FromPretrained(SharedFixtures.Path("fixtures", "tiny-random-bert"));
        tok.SavePretrained(dir);
        var back = BertTokenizer.FromPretrained(dir);
        Assert.Null(back.ModelMaxLength);
        Assert.Contains("\"model_max_length\": 1000000000000000019884624838656,", File.ReadAllText(Path.Combine(dir, "tokenizer_config.json")));
        var pairs = File.ReadLines(SharedFixtures.Path("fixtures", "tokenization.jsonl"))
            .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement)
            .Where(r => r.GetProperty("kind").GetString() == "pair").ToList();
        var s1 = pairs.Select(r => r.GetProperty("sentence1").GetString()!).ToList();
        var s2 = pairs.Select(r => r.GetProperty("sentence2").GetString()!).ToList();
        var a = tok.Call(s1, s2, truncation: true, maxLength: 32);
        var b = back.Call(s1, s2, truncation: true, maxLength: 32);
        for (var i = 0; i < pairs.Count; i++) Assert.Equal(a.InputIds[i], b.InputIds[i]);
    }

    [FixtureFact("fixtures", "seqcls-model")]
    public void Reads_The_HF_Saved_Tokenizer_Folder()
    {
        var tok = AutoTokenizer.FromPretrained(SharedFixtures.Path("fixtures", "seqcls-model"));
        Assert.Null(tok.ModelMaxLength);
        Assert.True(tok.DoLowerCase);
        Assert.Equal(30522, tok.VocabSize);
    }

    [Fact]
    public void AutoTokenizer_Picks_Bert_And_Rejects_Others()
    {
        Write("vocab.txt", GoodVocab);
        Write("config.json", "{\"model_type\": \"bert\"}");
        Assert.IsType<BertTokenizer>(AutoTokenizer.FromPretrained(dir));
        var config = Write("config.json", "{\"model_type\": \"gpt2\"}");
        var ex = Assert.Throws<CheckpointException>(() => AutoTokenizer.FromPretrained(dir));
        Assert.Equal(config, ex.FilePath);
        Assert.Contains("gpt2", ex.Message);
        var tc = Write("tokenizer_config.json", "{\"tokenizer_class\": \"RobertaTokenizer\"}");
        ex = Assert.Throws<CheckpointException>(() => AutoTokenizer.FromPretrained(dir));
        Assert.Equal(tc, ex.FilePath);
        Assert.Equal("tokenizer_class", ex.Key);
        Write("tokenizer_config.json", "{\"tokenizer_class\": \"BertTokenizer\"}");
        Assert.IsType<BertTokenizer>(AutoTokenizer.FromPretrained(dir));   // tokenizer_class wins over model_type
    }
}
