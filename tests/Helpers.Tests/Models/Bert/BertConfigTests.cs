using System.Text.Json;
using FineTuning.Models.Bert;

namespace FineTuning.Tests.Models.Bert;

public class BertConfigTests
{
    static readonly string[] PretrainedTiny = ["fixtures", "pretrained-tiny", "config.json"];
    static readonly string[] SeqClsModel = ["fixtures", "seqcls-model", "config.json"];
    static readonly string[] BertTinyAsset = ["assets", "bert-tiny", "config.json"];

    // ---- Defaults ----------------------------------------------------------------------------------------------

    [Fact]
    public void Defaults_Equal_Bert_Base_Uncased()
    {
        var c = new BertConfig();
        Assert.Equal(30522, c.VocabSize);
        Assert.Equal(768, c.HiddenSize);
        Assert.Equal(12, c.NumHiddenLayers);
        Assert.Equal(12, c.NumAttentionHeads);
        Assert.Equal(3072, c.IntermediateSize);
        Assert.Equal("gelu", c.HiddenAct);
        Assert.Equal(0.1, c.HiddenDropoutProb);
        Assert.Equal(0.1, c.AttentionProbsDropoutProb);
        Assert.Equal(512, c.MaxPositionEmbeddings);
        Assert.Equal(2, c.TypeVocabSize);
        Assert.Equal(0.02, c.InitializerRange);
        Assert.Equal(1e-12, c.LayerNormEps);
        Assert.Equal(0, c.PadTokenId);
        Assert.Equal("absolute", c.PositionEmbeddingType);
        Assert.Null(c.ClassifierDropout);
        Assert.True(c.UseCache);
        Assert.Equal(2, c.NumLabels);
        Assert.Equal("LABEL_0", c.Id2Label[0]);
        Assert.Equal("LABEL_1", c.Id2Label[1]);
        Assert.Equal(1, c.Label2Id["LABEL_1"]);
        Assert.Null(c.ProblemType);
        Assert.Null(c.Architectures);
        Assert.Equal("bert", c.ModelType);
        Assert.Empty(c.Extra);
        c.Validate("defaults");
        Assert.Equal(c, BertConfig.FromJson("{\"model_type\": \"bert\"}"));
    }

    [Fact]
    public void Defaults_Serialize_Like_Hf_Save_Pretrained()
    {
        // BertConfig().to_json_string() minus transformers_version (we write it only when known).
        const string expected = """
            {
              "attention_probs_dropout_prob": 0.1,
              "classifier_dropout": null,
              "hidden_act": "gelu",
              "hidden_dropout_prob": 0.1,
              "hidden_size": 768,
              "initializer_range": 0.02,
              "intermediate_size": 3072,
              "layer_norm_eps": 1e-12,
              "max_position_embeddings": 512,
              "model_type": "bert",
              "num_attention_heads": 12,
              "num_hidden_layers": 12,
              "pad_token_id": 0,
              "position_embedding_type": "absolute",
              "type_vocab_size": 2,
              "use_cache": true,
              "vocab_size": 30522
            }

            """;
        Assert.Equal(expected.ReplaceLineEndings("\n"), new BertConfig().ToJson());
    }

    // ---- The shared config.json files -----------------------------------------------------------------------------

    [FixtureFact("fixtures", "pretrained-tiny", "config.json")]
    public void Reads_Pretrained_Tiny_And_Writes_It_Back_Byte_For_Byte()
    {
        var path = SharedFixtures.Path(PretrainedTiny);
        var c = BertConfig.FromFile(path);
        Assert.Equal(128, c.HiddenSize);
        Assert.Equal(2, c.NumHiddenLayers);
        Assert.Equal(2, c.NumAttentionHeads);
        Assert.Equal(512, c.IntermediateSize);
        Assert.Equal(30522, c.VocabSize);
        Assert.Equal(["BertForPreTraining"], c.Architectures!);
        Assert.Equal("float32", c.TorchDtype);
        Assert.Equal("4.26.1", c.TransformersVersion);
        Assert.Equal(2, c.NumLabels);
        Assert.Empty(c.Extra);
        Assert.Equal(File.ReadAllText(path), c.ToJson());
        Assert.Equal(c, BertConfig.FromPretrained(Path.GetDirectoryName(path)!));
    }

    [FixtureFact("fixtures", "seqcls-model", "config.json")]
    public void Reads_SeqCls_Model_And_Writes_It_Back_Byte_For_Byte()
    {
        var path = SharedFixtures.Path(SeqClsModel);
        var c = BertConfig.FromPretrained(Path.GetDirectoryName(path)!);
        Assert.Equal(["BertForSequenceClassification"], c.Architectures!);
        Assert.Equal("tiny-random-bert", c.NameOrPath);
        Assert.Equal(128, c.HiddenSize);
        Assert.Equal(2, c.NumLabels);
        Assert.Null(c.ClassifierDropout);
        Assert.Equal(File.ReadAllText(path), c.ToJson());
    }

    [FixtureFact("assets", "bert-tiny", "config.json")]
    public void Reads_Bert_Tiny_Asset_Without_Architectures()
    {
        var path = SharedFixtures.Path(BertTinyAsset);
        var c = BertConfig.FromFile(path);
        Assert.Null(c.Architectures);
        Assert.Equal("bert", c.ModelType);
        Assert.Equal(128, c.HiddenSize);
        Assert.Equal(2, c.NumHiddenLayers);
        Assert.Equal(2, c.NumAttentionHeads);
        Assert.Equal(512, c.IntermediateSize);
        Assert.Equal(0, c.PadTokenId); // absent in the file: BertConfig's default
        Assert.Equal(c, BertConfig.FromJson(c.ToJson()));
    }

    // ---- Round trips -----------------------------------------------------------------------------------------------

    [Fact]
    public void Round_Trip_Keeps_Every_Field()
    {
        var c = new BertConfig
        {
            VocabSize = 99, HiddenSize = 32, NumHiddenLayers = 2, NumAttentionHeads = 4, IntermediateSize = 37,
            HiddenAct = "gelu_new", HiddenDropoutProb = 0.0, AttentionProbsDropoutProb = 0.25,
            MaxPositionEmbeddings = 64, TypeVocabSize = 16, InitializerRange = 0.002, LayerNormEps = 1e-5,
            PadTokenId = null, ClassifierDropout = 0.3, UseCache = false,
            Id2Label = new Dictionary<int, string> { [0] = "neg", [1] = "neutral", [2] = "pos" },
            ProblemType = "single_label_classification", Architectures = ["BertForSequenceClassification"],
            TorchDtype = "float16", TransformersVersion = "4.26.1", NameOrPath = "bert-base-uncased",
        };
        c.Validate("code");
        var json = c.ToJson();
        var back = BertConfig.FromJson(json);
        Assert.Equal(c, back);
        Assert.Equal(json, back.ToJson());
        Assert.Contains("\"layer_norm_eps\": 1e-05,", json);
        Assert.Contains("\"hidden_dropout_prob\": 0.0,", json);
        Assert.Contains("\"pad_token_id\": null,", json);
        Assert.Contains("\"id2label\": {\n    \"0\": \"neg\",\n    \"1\": \"neutral\",\n    \"2\": \"pos\"\n  },", json);
        Assert.Contains("\"label2id\": {\n    \"neg\": 0,\n    \"neutral\": 1,\n    \"pos\": 2\n  },", json);
        Assert.EndsWith("}\n", json);
    }

    [Fact]
    public void Unknown_Fields_Survive_A_Round_Trip()
    {
        const string json = """
            {"model_type": "bert", "gradient_checkpointing": false, "zz_custom": {"b": [1, 2.5, "é"], "a": null},
             "output_hidden_states": true, "finetuning_task": "mrpc", "chunk_size_feed_forward": 0}
            """;
        var c = BertConfig.FromJson(json);
        Assert.Equal(5, c.Extra.Count);
        Assert.Equal(JsonValueKind.False, c.Extra["gradient_checkpointing"].ValueKind);
        Assert.Equal("mrpc", c.Extra["finetuning_task"].GetString());
        var written = c.ToJson();
        Assert.Contains("\"zz_custom\": {\n    \"a\": null,\n    \"b\": [\n      1,\n      2.5,\n      \"\\u00e9\"\n    ]\n  }\n}\n", written);
        var back = BertConfig.FromJson(written);
        Assert.Equal(c, back);
        Assert.Equal(written, back.ToJson());
    }

    [Fact]
    public void Equality_Compares_Contents_Not_References()
    {
        var a = new BertConfig { Id2Label = new Dictionary<int, string> { [0] = "x", [1] = "y" } };
        var b = new BertConfig { Id2Label = new Dictionary<int, string> { [1] = "y", [0] = "x" } };
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, b with { Id2Label = new Dictionary<int, string> { [0] = "x", [1] = "z" } });
        Assert.NotEqual(a, a with { LayerNormEps = 1e-5 });
    }

    [Theory]
    [InlineData(0.1, "0.1")]
    [InlineData(1e-12, "1e-12")]
    [InlineData(1e-5, "1e-05")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(0.02, "0.02")]
    [InlineData(1.0, "1.0")]
    [InlineData(1e16, "1e+16")]
    [InlineData(1e15, "1000000000000000.0")]
    [InlineData(123.456, "123.456")]
    [InlineData(-2.5e-7, "-2.5e-07")]
    public void Config_Floats_Are_Written_As_Python_Repr(double value, string expected) =>
        Assert.Equal(expected, PythonJson.Float(value));

    // ---- Labels -----------------------------------------------------------------------------------------------------

    [Fact]
    public void Num_Labels_Without_Id2Label_Gives_Default_Names()
    {
        var c = BertConfig.FromJson("""{"model_type": "bert", "num_labels": 3}""");
        Assert.Equal(3, c.NumLabels);
        Assert.Equal(["LABEL_0", "LABEL_1", "LABEL_2"], c.Id2Label.OrderBy(p => p.Key).Select(p => p.Value));
        Assert.Equal(2, c.Label2Id["LABEL_2"]);
        Assert.DoesNotContain("num_labels", c.ToJson());
        Assert.Equal(c, BertConfig.FromJson(c.ToJson()));
    }

    [Fact]
    public void Id2Label_Names_Are_Kept_And_Win_Over_A_Disagreeing_Num_Labels()
    {
        var c = BertConfig.FromJson("""{"model_type": "bert", "id2label": {"0": "NEGATIVE", "1": "POSITIVE"}}""");
        Assert.Equal("POSITIVE", c.Id2Label[1]);
        Assert.Equal(0, c.Label2Id["NEGATIVE"]);

        // HF 4.26 PretrainedConfig.__init__: id2label given => num_labels only warns ("will be overwritten to 2").
        var both = BertConfig.FromJson("""{"model_type": "bert", "num_labels": 3, "id2label": {"0": "NEGATIVE", "1": "POSITIVE"}}""");
        Assert.Equal(c, both);

        var same = BertConfig.FromJson("""{"model_type": "bert", "num_labels": 2, "id2label": {"1": "POSITIVE", "0": "NEGATIVE"}}""");
        Assert.Equal(c, same);
    }

    [Fact]
    public void Label2Id_From_The_File_Is_Kept()
    {
        var c = BertConfig.FromJson("""{"model_type": "bert", "id2label": {"0": "a", "1": "b"}, "label2id": {"a": 0, "b": 1, "B": 1}}""");
        Assert.Equal(3, c.Label2Id.Count);
        Assert.Equal(c, BertConfig.FromJson(c.ToJson()));
    }

    [Fact]
    public void WithNumLabels_Replaces_Names_Only_When_The_Count_Changes()
    {
        var named = new BertConfig { Id2Label = new Dictionary<int, string> { [0] = "neg", [1] = "pos" } };
        Assert.Same(named, named.WithNumLabels(2));
        Assert.Equal("pos", named.WithNumLabels(2).Id2Label[1]);

        var three = named.WithNumLabels(3);
        Assert.Equal(3, three.NumLabels);
        Assert.Equal("LABEL_2", three.Id2Label[2]);
        Assert.Equal(2, three.Label2Id["LABEL_2"]);
        Assert.False(three.Label2Id.ContainsKey("neg"));
        Assert.Equal("pos", named.Id2Label[1]); // the original is untouched

        var regression = named.WithNumLabels(1) with { ProblemType = "regression" };
        regression.Validate("code");
        Assert.Equal(["LABEL_0"], regression.Id2Label.Values);

        Assert.Throws<ArgumentOutOfRangeException>(() => named.WithNumLabels(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => named.WithNumLabels(-1));
    }

    // ---- Saving ---------------------------------------------------------------------------------------------------

    [Fact]
    public void Save_Writes_Config_Json_Atomically_And_FromPretrained_Reads_It()
    {
        var folder = Path.Combine(Path.GetTempPath(), "bertconfig-test-" + Guid.NewGuid().ToString("N"));
        try
        {
            var c = new BertConfig { HiddenSize = 64, NumAttentionHeads = 4 }.WithNumLabels(4);
            c.Save(folder);
            c.Save(folder); // overwrites
            Assert.Equal(["config.json"], Directory.GetFiles(folder).Select(Path.GetFileName));
            Assert.Equal(c.ToJson(), File.ReadAllText(Path.Combine(folder, "config.json")));
            Assert.Equal(c, BertConfig.FromPretrained(folder));

            var bad = c with { HiddenSize = 65 };
            var e = Assert.Throws<CheckpointException>(() => bad.Save(folder));
            Assert.Equal("hidden_size", e.Key);
            Assert.Equal(c, BertConfig.FromPretrained(folder)); // the good file is still there
        }
        finally
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
    }

    // ---- Bad input ----------------------------------------------------------------------------------------------

    static CheckpointException Bad(string json, string field, params string[] fragments)
    {
        const string file = "/models/x/config.json";
        var e = Assert.Throws<CheckpointException>(() => BertConfig.FromJson(json, file));
        Assert.Equal(file, e.FilePath);
        Assert.StartsWith(file + ": ", e.Message);
        Assert.Equal(field, e.Key);
        Assert.Contains(field, e.Message);
        foreach (var f in fragments) Assert.Contains(f, e.Message);
        return e;
    }

    [Theory]
    [InlineData("""{"hidden_size": "128"}""", "hidden_size", "expected an integer", "got string \"128\"")]
    [InlineData("""{"hidden_size": 1.5}""", "hidden_size", "expected an integer", "got number 1.5")]
    [InlineData("""{"num_hidden_layers": null}""", "num_hidden_layers", "expected an integer", "got null")]
    [InlineData("""{"hidden_act": ["gelu"]}""", "hidden_act", "expected a string", "got an array")]
    [InlineData("""{"use_cache": 1}""", "use_cache", "expected true or false", "got integer 1")]
    [InlineData("""{"hidden_dropout_prob": "0.1"}""", "hidden_dropout_prob", "expected a number", "got string")]
    [InlineData("""{"architectures": "BertModel"}""", "architectures", "expected an array of strings", "got string")]
    [InlineData("""{"vocab_size": 99999999999}""", "vocab_size", "out of the 32-bit integer range")]
    public void Config_Wrong_Json_Type_Names_File_Field_Expected_And_Got(string body, string field, params string[] fragments) =>
        Bad(body.Insert(1, "\"model_type\": \"bert\", "), field, fragments);

    [Fact]
    public void Invalid_Json_Names_File_And_Position()
    {
        var e = Assert.Throws<CheckpointException>(() =>
            BertConfig.FromJson("{\n  \"model_type\": \"bert\",\n  \"hidden_size\": 128,,\n}", "/m/config.json"));
        Assert.StartsWith("/m/config.json: not valid JSON at line 3, byte", e.Message);
        Assert.IsAssignableFrom<JsonException>(e.InnerException);
    }

    [Fact]
    public void Empty_File_Is_Reported()
    {
        var folder = Path.Combine(Path.GetTempPath(), "bertconfig-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            var path = Path.Combine(folder, "config.json");
            File.WriteAllText(path, "");
            var e = Assert.Throws<CheckpointException>(() => BertConfig.FromPretrained(folder));
            Assert.Equal(path, e.FilePath);
            Assert.Contains("empty", e.Message);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Missing_Config_Json_Is_Named()
    {
        var folder = Path.Combine(Path.GetTempPath(), "bertconfig-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            var e = Assert.Throws<CheckpointException>(() => BertConfig.FromPretrained(folder));
            Assert.Equal(Path.Combine(folder, "config.json"), e.FilePath);
            Assert.Contains("config.json not found", e.Message);
            Assert.Throws<CheckpointException>(() => BertConfig.FromFile(Path.Combine(folder, "nope.json")));
            Assert.Throws<CheckpointException>(() => BertConfig.FromPretrained(Path.Combine(folder, "no-such-folder")));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Theory]
    [InlineData("[1, 2]", "got an array")]
    [InlineData("\"bert\"", "got string")]
    public void Not_An_Object_Is_Reported(string json, string fragment)
    {
        var e = Assert.Throws<CheckpointException>(() => BertConfig.FromJson(json, "/m/config.json"));
        Assert.StartsWith("/m/config.json: expected a JSON object", e.Message);
        Assert.Contains(fragment, e.Message);
    }

    [Fact]
    public void Config_Unknown_Model_Type_Is_Rejected() =>
        Bad("""{"model_type": "roberta"}""", "model_type", "model_type 'roberta' is not supported (supported: bert)");

    [Fact]
    public void Missing_Model_Type_Needs_A_Bert_Architecture()
    {
        Bad("""{"hidden_size": 128, "num_attention_heads": 2}""", "model_type", "architectures names no Bert* class");
        Bad("""{"architectures": ["RobertaModel"]}""", "model_type");
        var c = BertConfig.FromJson("""{"architectures": ["BertForMaskedLM"]}""");
        Assert.Equal("bert", c.ModelType);
    }

    [Fact]
    public void Config_Hidden_Size_Not_Divisible_By_Heads_Uses_Hf_Message() =>
        Bad("""{"model_type": "bert", "hidden_size": 100, "num_attention_heads": 12}""", "hidden_size",
            "The hidden size (100) is not a multiple of the number of attention heads (12)");

    [Theory]
    [InlineData("relative_key")]
    [InlineData("relative_key_query")]
    public void Config_Relative_Position_Embeddings_Are_Not_Supported(string type) =>
        Bad($$"""{"model_type": "bert", "position_embedding_type": "{{type}}"}""", "position_embedding_type",
            $"'{type}' is not supported, only absolute");

    [Fact]
    public void Config_Unknown_Hidden_Act_Lists_The_Allowed_Ones() =>
        Bad("""{"model_type": "bert", "hidden_act": "quick_gelu"}""", "hidden_act",
            "'quick_gelu' is not supported", "gelu, gelu_new, relu, gelu_python");

    [Theory]
    [InlineData("gelu_pytorch_tanh")]
    [InlineData("gelu_fast")]
    [InlineData("silu")]
    [InlineData("swish")]
    [InlineData("tanh")]
    public void Config_Accepts_The_Mapped_Hidden_Acts(string act) =>
        Assert.Equal(act, BertConfig.FromJson($$"""{"model_type": "bert", "hidden_act": "{{act}}"}""").HiddenAct);

    [Theory]
    [InlineData("vocab_size", -5)]
    [InlineData("hidden_size", 0)]
    [InlineData("num_hidden_layers", -1)]
    [InlineData("intermediate_size", 0)]
    [InlineData("max_position_embeddings", -512)]
    [InlineData("type_vocab_size", 0)]
    public void Config_Non_Positive_Sizes_Are_Rejected(string field, int value) =>
        Bad($$"""{"model_type": "bert", "{{field}}": {{value}}}""", field, value.ToString());

    [Theory]
    [InlineData("hidden_dropout_prob", "1.5")]
    [InlineData("attention_probs_dropout_prob", "-0.1")]
    [InlineData("classifier_dropout", "2")]
    [InlineData("layer_norm_eps", "0")]
    [InlineData("pad_token_id", "30522")]
    [InlineData("pad_token_id", "-1")]
    public void Config_Out_Of_Range_Values_Are_Rejected(string field, string value) =>
        Bad($$"""{"model_type": "bert", "{{field}}": {{value}}}""", field);

    [Fact]
    public void Config_Bad_Problem_Type_Is_Rejected() =>
        Bad("""{"model_type": "bert", "problem_type": "classification"}""", "problem_type",
            "'classification'", "regression, single_label_classification, multi_label_classification");

    [Theory]
    [InlineData("""{"zero": "a"}""", "key \"zero\" is not an integer")]
    [InlineData("""{"0": "a", "1.0": "b"}""", "key \"1.0\" is not an integer")]
    [InlineData("""{"0": "a", "2": "b"}""", "0 .. 1 without gaps")]
    [InlineData("""{}""", "empty")]
    [InlineData("""["a", "b"]""", "expected an object")]
    public void Config_Bad_Id2Label_Is_Rejected(string id2label, string fragment) =>
        Bad($$"""{"model_type": "bert", "id2label": {{id2label}}}""", "id2label", fragment);

    [Fact]
    public void Config_Bad_Label2Id_And_Num_Labels_Are_Rejected()
    {
        Bad("""{"model_type": "bert", "label2id": {"a": "0"}}""", "label2id[\"a\"]", "expected an integer class id");
        Bad("""{"model_type": "bert", "num_labels": 0}""", "num_labels", "at least 1");
        Bad("""{"model_type": "bert", "num_labels": "2"}""", "num_labels", "expected an integer");
    }

    [Fact]
    public void Validate_Checks_Code_Built_Configs()
    {
        var e = Assert.Throws<CheckpointException>(() => new BertConfig { NumAttentionHeads = 5 }.Validate("my-config"));
        Assert.Equal("my-config", e.FilePath);
        Assert.Equal("hidden_size", e.Key);
        var g = Assert.Throws<CheckpointException>(() => new BertConfig { ModelType = "gpt2" }.Validate("my-config"));
        Assert.Equal("model_type", g.Key);
    }
}
