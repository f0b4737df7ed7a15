using System.Text.Json.Nodes;
using FineTuning.Models;
using FineTuning.Models.Bert;
using static TorchSharp.torch;

namespace FineTuning.Tests.Models.Bert;

/// <summary>
/// The shapes worked out from a config are exactly the built model's, and FromPretrained uses them before it allocates:
/// a config.json that disagrees with the checkpoint names the field and the tensor; a model too big for memory is
/// refused whether it comes from a folder or from a config alone; HF's ignoreMismatchedSizes and layer-count changes
/// keep working.
/// </summary>
public sealed class BertWeightShapesTests : IDisposable
{
    readonly TempFolder tmp = new();

    public void Dispose() => tmp.Dispose();

    /// <summary>Every key and shape of the model's state dict, from the config alone.</summary>
    static Dictionary<string, long[]> FromConfig(BertConfig c, bool pooler = true)
    {
        var shapes = BertWeightShapes.Embeddings(c).ToDictionary(w => w.Key, w => w.Shape);
        for (int i = 0; i < c.NumHiddenLayers; i++)
            foreach (var w in BertWeightShapes.Layer(c)) shapes[w.Key.Replace(BertWeightShapes.LayerIndex, i.ToString())] = w.Shape;
        if (pooler) foreach (var w in BertWeightShapes.Pooler(c)) shapes[w.Key] = w.Shape;
        return shapes;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Shapes_From_The_Config_Are_The_Built_Models(bool pooler)
    {
        var config = BertModelTester.TinyConfig() with { TypeVocabSize = 3, MaxPositionEmbeddings = 40 };
        using var model = new BertModel(config, addPoolingLayer: pooler);
        var built = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape);
        var expected = FromConfig(config, pooler);
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), built.Keys.Order(StringComparer.Ordinal));
        foreach (var (key, shape) in expected) Assert.Equal(shape, built[key]);
        Assert.Equal(model.parameters().Sum(p => p.numel()), (long)BertWeightShapes.ParameterCount(config, pooler));
    }

    [Fact]
    public void Bert_Base_Has_Its_Published_Parameter_Count()
    {
        // bert-base-uncased: 109,482,240 parameters in BertModel (HF's num_parameters()).
        Assert.Equal(109_482_240, BertWeightShapes.ParameterCount(new BertConfig()));
    }

    string SavedTinyModel()
    {
        var folder = Path.Combine(tmp.Path, "model");
        using var model = new BertForSequenceClassification(BertModelTester.TinyConfig());
        model.SavePretrained(folder);
        return folder;
    }

    void EditConfig(string folder, Action<JsonObject> edit)
    {
        var path = Path.Combine(folder, "config.json");
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(json);
        File.WriteAllText(path, json.ToJsonString());
    }

    [Theory]
    [InlineData("vocab_size", 1_000_000_000, "vocab_size 1000000000 disagrees with the checkpoint's bert.embeddings.word_embeddings.weight [99, 32] in model.safetensors (the weights say vocab_size 99)")]
    [InlineData("hidden_size", 64, "hidden_size 64 disagrees with the checkpoint's bert.embeddings.word_embeddings.weight [99, 32] in model.safetensors (the weights say hidden_size 32)")]
    [InlineData("max_position_embeddings", 128, "max_position_embeddings 128 disagrees with the checkpoint's bert.embeddings.position_embeddings.weight [512, 32]")]
    [InlineData("type_vocab_size", 2, "type_vocab_size 2 disagrees with the checkpoint's bert.embeddings.token_type_embeddings.weight [16, 32]")]
    [InlineData("intermediate_size", 3072, "intermediate_size 3072 disagrees with the checkpoint's bert.encoder.layer.0.intermediate.dense.weight [37, 32]")]
    public void Config_That_Disagrees_With_The_Weights_Names_The_Field_And_The_Tensor(string field, int value, string message)
    {
        var folder = SavedTinyModel();
        EditConfig(folder, c => c[field] = value);
        var e = Assert.Throws<CheckpointException>(() => AutoModelForSequenceClassification.FromPretrained(folder));
        Assert.StartsWith($"{Path.Combine(folder, "config.json")}: {message}", e.Message);
        Assert.EndsWith("config.json and the weights describe different models.", e.Message);
        Assert.Equal(field, e.Key);
        Assert.Throws<CheckpointException>(() => AutoModel.FromPretrained(folder)); // the bare body too
    }

    [Fact]
    public void Legacy_Names_And_A_Bare_Body_Checkpoint_Are_Compared_Too()
    {
        // A BertModel checkpoint (no "bert." prefix) with TensorFlow-era LayerNorm.gamma / beta names.
        var folder = Path.Combine(tmp.Path, "bare");
        using (var body = new BertModel(BertModelTester.TinyConfig()))
        {
            Directory.CreateDirectory(folder);
            FineTuning.SafeTensors.SafeTensorsWriter.Save(Path.Combine(folder, "model.safetensors"),
                body.state_dict().Select(kv => (kv.Key.Replace("LayerNorm.weight", "LayerNorm.gamma").Replace("LayerNorm.bias", "LayerNorm.beta"), kv.Value)).ToList());
            body.Config.Save(folder);
        }
        using (var ok = AutoModelForSequenceClassification.FromPretrained(folder)) Assert.Empty(ok.LoadingInfo!.MismatchedKeys);
        EditConfig(folder, c => c["hidden_size"] = 48);
        EditConfig(folder, c => c["num_attention_heads"] = 4);
        var e = Assert.Throws<CheckpointException>(() => AutoModelForSequenceClassification.FromPretrained(folder));
        Assert.Contains("hidden_size 48 disagrees with the checkpoint's embeddings.word_embeddings.weight [99, 32]", e.Message);
    }

    [Fact]
    public void More_Or_Fewer_Layers_Than_The_Checkpoint_Load_As_HF_Does()
    {
        var folder = SavedTinyModel();
        using (var fewer = AutoModelForSequenceClassification.FromPretrained(folder, numLabels: 2))
            Assert.Empty(fewer.LoadingInfo!.MissingKeys);
        EditConfig(folder, c => c["num_hidden_layers"] = 1);
        using (var one = AutoModelForSequenceClassification.FromPretrained(folder))
            Assert.Contains("bert.encoder.layer.1.output.dense.weight", one.LoadingInfo!.UnexpectedKeys);
        EditConfig(folder, c => c["num_hidden_layers"] = 3);
        using (var three = AutoModelForSequenceClassification.FromPretrained(folder))
            Assert.Contains("bert.encoder.layer.2.output.dense.weight", three.LoadingInfo!.MissingKeys);
    }

    [Fact]
    public void IgnoreMismatchedSizes_Reinitialises_A_Differing_Body_Weight_As_HF_Does()
    {
        var folder = SavedTinyModel();
        EditConfig(folder, c => c["vocab_size"] = 120);
        using var model = AutoModelForSequenceClassification.FromPretrained(folder, ignoreMismatchedSizes: true);
        var mismatch = Assert.Single(model.LoadingInfo!.MismatchedKeys);
        Assert.Equal("bert.embeddings.word_embeddings.weight", mismatch.Key);
        Assert.Equal(new long[] { 120, 32 }, model.state_dict()["bert.embeddings.word_embeddings.weight"].shape);
    }

    [Fact]
    public void IgnoreMismatchedSizes_With_An_Absurd_Size_Is_Refused_By_The_Memory_Check()
    {
        var folder = SavedTinyModel();
        EditConfig(folder, c => c["vocab_size"] = int.MaxValue);
        using var limit = BertWeightShapes.LimitMemoryForTests(1L << 30);
        var e = Assert.Throws<CheckpointException>(() => AutoModelForSequenceClassification.FromPretrained(folder, ignoreMismatchedSizes: true));
        Assert.StartsWith($"{Path.Combine(folder, "config.json")}: the model this config describes has 68,719,508,298 parameters, 256.0 GiB in float32, " +
                          "more than the 1.0 GiB of memory this process can use; most of it is the word embeddings, vocab_size 2147483647 × hidden_size 32. Check vocab_size.",
                          e.Message);
        Assert.Equal("vocab_size", e.Key);
    }

    [Fact]
    public void A_Config_Alone_Too_Big_For_Memory_Is_Refused_Before_Allocating()
    {
        var e = Assert.Throws<ArgumentException>(() => new BertForSequenceClassification(new BertConfig { NumHiddenLayers = 1_000_000_000 }));
        Assert.Contains("BertConfig: the model this config describes has", e.Message);
        Assert.Contains("most of it is the encoder, num_hidden_layers 1000000000 × 7,087,872 parameters per layer (hidden_size 768, intermediate_size 3072). Check num_hidden_layers.", e.Message);
        Assert.Equal("config", e.ParamName);

        using var limit = BertWeightShapes.LimitMemoryForTests(100L << 20);
        var wide = Assert.Throws<ArgumentException>(() => new BertModel(BertModelTester.TinyConfig() with { IntermediateSize = 2_000_000 }));
        Assert.Contains("Check intermediate_size.", wide.Message);
        Assert.Contains("more than the 0.1 GiB of memory", wide.Message);
        using var fits = new BertModel(BertModelTester.TinyConfig()); // a normal model still fits under that limit
    }

    [Fact]
    public void The_Machines_Memory_Is_Known()
    {
        // Without a limit, the check would let everything through: the GC must report the memory before any collection.
        Assert.True(BertWeightShapes.MemoryLimit() > 100L << 20, $"{BertWeightShapes.MemoryLimit()} bytes");
    }
}
