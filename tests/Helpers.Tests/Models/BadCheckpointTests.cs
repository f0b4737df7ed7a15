using System.Text.Json.Nodes;
using FineTuning.Models;
using FineTuning.Models.Bert;
using FineTuning.SafeTensors;
using FineTuning.Tests.Models.Bert;
using static TorchSharp.torch;

namespace FineTuning.Tests.Models;

/// <summary>
/// Bad model folders, each broken one way, through the user's entry point (AutoModelForSequenceClassification).
/// Every one must fail with a CheckpointException naming the file and the tensor or field — no crash, no hang.
/// (Byte-level safetensors and config.json cases are in SafeTensors/ and Bert/BertConfigTests.)
/// </summary>
public sealed class BadCheckpointTests : IDisposable
{
    readonly string folder = Path.Combine(Path.GetTempPath(), $"bad-ckpt-{Guid.NewGuid():N}");
    string ConfigPath => Path.Combine(folder, "config.json");
    string WeightsPath => Path.Combine(folder, "model.safetensors");

    public BadCheckpointTests()
    {
        manual_seed(0);
        using var model = new BertForSequenceClassification(BertModelTester.TinyConfig());
        model.SavePretrained(folder);
    }

    public void Dispose()
    {
        if (Directory.Exists(folder)) Directory.Delete(folder, true);
    }

    void EditConfig(Action<JsonObject> edit)
    {
        var json = JsonNode.Parse(File.ReadAllText(ConfigPath))!.AsObject();
        edit(json);
        File.WriteAllText(ConfigPath, json.ToJsonString());
    }

    void RewriteWeights(Func<Dictionary<string, Tensor>, IEnumerable<(string, Tensor)>> edit)
    {
        var tensors = new Dictionary<string, Tensor>();
        using (var file = SafeTensorsFile.Open(WeightsPath))
            foreach (var name in file.Names) tensors[name] = file.Load(name);
        SafeTensorsWriter.Save(WeightsPath, edit(tensors).ToList());
    }

    CheckpointException Fails(params string[] mustMention)
    {
        var e = Assert.Throws<CheckpointException>(() => AutoModelForSequenceClassification.FromPretrained(folder));
        foreach (var m in mustMention) Assert.Contains(m, e.Message);
        return e;
    }

    [Fact]
    public void Valid_Folder_Loads() // the baseline the cases below break
    {
        using var model = AutoModelForSequenceClassification.FromPretrained(folder);
        Assert.Empty(model.LoadingInfo!.Warnings);
    }

    [Fact]
    public void Missing_Folder() => Assert.Contains("no-such-folder",
        Assert.Throws<CheckpointException>(() => AutoModelForSequenceClassification.FromPretrained(Path.Combine(folder, "no-such-folder"))).Message);

    [Fact]
    public void Empty_Folder()
    {
        foreach (var f in Directory.GetFiles(folder)) File.Delete(f);
        Fails(folder, "config.json");
    }

    [Fact]
    public void Config_Without_Weights()
    {
        File.Delete(WeightsPath);
        Fails(folder, "model.safetensors");
    }

    [Fact]
    public void Weights_Without_Config()
    {
        File.Delete(ConfigPath);
        Fails("config.json");
    }

    [Fact]
    public void Hidden_Size_In_Config_Differs_From_Weights()
    {
        // Found from the safetensors header before the model is built (HF builds it first, then reports a size mismatch).
        EditConfig(c => c["hidden_size"] = 64);
        var e = Fails("config.json: hidden_size 64 disagrees with the checkpoint's bert.embeddings.word_embeddings.weight [99, 32] in model.safetensors");
        Assert.Equal("hidden_size", e.Key);
    }

    [Fact]
    public void Missing_Config_Field_Falls_Back_To_Default_And_Then_Mismatches()
    {
        // HF semantics: an absent field takes BERT-base's default (intermediate 3072), which the weights contradict.
        EditConfig(c => c.Remove("intermediate_size"));
        Fails("config.json: intermediate_size 3072 disagrees with the checkpoint's bert.encoder.layer.0.intermediate.dense.weight [37, 32] in model.safetensors");
    }

    [Fact]
    public void Wrong_Type_In_Config() { EditConfig(c => c["num_attention_heads"] = "four"); Fails("config.json", "num_attention_heads"); }

    [Fact]
    public void Unknown_Model_Type() { EditConfig(c => c["model_type"] = "roberta"); Fails("config.json", "roberta"); }

    [Fact]
    public void Relative_Position_Embeddings_Are_Refused() { EditConfig(c => c["position_embedding_type"] = "relative_key"); Fails("config.json", "position_embedding_type"); }

    [Fact]
    public void Invalid_Json_Config() { File.WriteAllText(ConfigPath, "{\"hidden_size\": 32,"); Fails("config.json"); }

    [Fact]
    public void Truncated_Weights()
    {
        var bytes = File.ReadAllBytes(WeightsPath);
        File.WriteAllBytes(WeightsPath, bytes[..(bytes.Length / 2)]);
        Fails("model.safetensors");
    }

    [Fact]
    public void Weight_With_Wrong_Rank()
    {
        RewriteWeights(t => t.Select(kv => (kv.Key, kv.Key == "classifier.weight" ? kv.Value.flatten() : kv.Value)));
        var e = Fails("size mismatch for classifier.weight", "torch.Size([64])");
        Assert.Equal("classifier.weight", e.Key);
    }

    [Fact]
    public void Head_Weights_Without_Body_Is_Reported_As_Corrupted()
    {
        RewriteWeights(t => t.Where(kv => kv.Key.StartsWith("classifier.")).Select(kv => (kv.Key, kv.Value)));
        Fails("model.safetensors", "classifier.", "corrupted");
    }

    [Fact]
    public void Legacy_And_Current_Name_For_The_Same_Weight_Is_Ambiguous()
    {
        RewriteWeights(t => t.Select(kv => (kv.Key, kv.Value))
            .Append(("bert.embeddings.LayerNorm.gamma", t["bert.embeddings.LayerNorm.weight"])));
        Fails("bert.embeddings.LayerNorm.gamma", "bert.embeddings.LayerNorm.weight");
    }

    [Fact]
    public void Pickle_Only_Folder_Is_Refused_Without_Reading_It()
    {
        File.Delete(WeightsPath);
        File.WriteAllBytes(Path.Combine(folder, "pytorch_model.bin"), [0x80, 0x02, 0x63]); // a pickle opcode stream: never parsed
        Fails("pytorch_model.bin", "pickle");
    }

    [Fact]
    public void Fewer_Layers_In_Checkpoint_Initialises_The_Rest_With_A_Warning()
    {
        // Not an error in HF either: the third layer is reported missing and initialised.
        EditConfig(c => c["num_hidden_layers"] = 3);
        using var model = AutoModelForSequenceClassification.FromPretrained(folder);
        Assert.Contains("bert.encoder.layer.2.attention.self.query.weight", model.LoadingInfo!.MissingKeys);
        Assert.Contains(model.LoadingInfo.Warnings, w => w.Contains("newly initialized"));
    }
}
