using System.Security.Cryptography;
using Encoding = System.Text.Encoding;
using System.Text.Json;
using FineTuning.Hub;
using FineTuning.Models;
using FineTuning.Models.Bert;
using FineTuning.SafeTensors;
using FineTuning.Tokenizers;
using static FineTuning.Tests.TensorAssert;
using static TorchSharp.torch;

namespace FineTuning.Tests.Hub;

/// <summary>
/// The entry points with Hub ids: <c>FromPretrained("bert-base-uncased")</c> against the stand-in Hub serving the
/// fixture checkpoint as google-bert/bert-base-uncased gives HF's logits, then again from the cache with no server;
/// tokenizer, config, sharded weights, pickle-only repositories, and a cache written in huggingface_hub's layout.
/// </summary>
public sealed class HubModelTests : IDisposable
{
    readonly TempFolder tmp = new();
    readonly StandInHub hub = new();

    public void Dispose()
    {
        hub.Dispose();
        tmp.Dispose();
    }

    static string Fixture(params string[] parts) => SharedFixtures.Path(["fixtures", .. parts]);

    HubSettings Settings => HubTestSettings.For(hub, tmp);

    /// <summary>The model's logits on forward_reference.json's inputs (MRPC dev 0–7), checked against HF's.</summary>
    static void AssertHfLogits(BertForSequenceClassification model)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Fixture("forward_reference.json")));
        var r = json.RootElement;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var output = model.forward(LongMatrix(r.GetProperty("input_ids")), LongMatrix(r.GetProperty("attention_mask")),
                                   LongMatrix(r.GetProperty("token_type_ids")));
        Close(Floats(r.GetProperty("logits")), output.Logits, "logits");
    }

    [FixtureFact("fixtures", "pretrained-tiny")]
    public void Bert_Base_Uncased_From_The_Hub_Gives_HFs_Logits_Then_Loads_From_The_Cache_Offline()
    {
        // The Hub serves bert-base-uncased as google-bert/bert-base-uncased and redirects the legacy name.
        hub.AddRepo("google-bert/bert-base-uncased", folder: Fixture("pretrained-tiny"));
        hub.AddAlias("bert-base-uncased", "google-bert/bert-base-uncased");
        var s = Settings;

        string log = HubTestSettings.CaptureLog(() =>
        {
            // HF: torch.manual_seed(42); from_pretrained(..., num_labels=2) gives fixtures/seqcls-model, whose logits
            // forward_reference.json holds.
            manual_seed(42);
            using var model = AutoModelForSequenceClassification.FromPretrained("bert-base-uncased", numLabels: 2, hub: s);
            AssertHfLogits(model);
            // HF names the model as it was asked for, not by its cache path.
            Assert.Equal("bert-base-uncased", model.LoadingInfo!.ModelPath);
            Assert.Equal("bert-base-uncased", model.Config.NameOrPath);
        });
        Assert.Contains("Some weights of the model checkpoint at bert-base-uncased were not used", log);
        Assert.Contains("initialized from the model checkpoint at bert-base-uncased and are newly initialized", log);

        // Cached as huggingface_hub caches a legacy name: models--bert-base-uncased.
        var repoFolder = Path.Combine(s.HubCache, "models--bert-base-uncased");
        var commit = File.ReadAllText(Path.Combine(repoFolder, "refs", "main"));
        Assert.Equal(StandInHub.CommitFor("google-bert/bert-base-uncased"), commit);
        Assert.Equal(["config.json", "model.safetensors"],
                     Directory.GetFileSystemEntries(Path.Combine(repoFolder, "snapshots", commit)).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Single(hub.RequestsTo("/cdn/", "GET"));

        // Second run: no server at all, offline mode — the cache alone.
        hub.Stop();
        int requests = hub.Requests.Count;
        manual_seed(42);
        using (var again = AutoModelForSequenceClassification.FromPretrained("bert-base-uncased", numLabels: 2, hub: s with { Offline = true }))
            AssertHfLogits(again);
        Assert.Equal(requests, hub.Requests.Count);
    }

    [FixtureFact("fixtures", "pretrained-tiny")]
    public void Tokenizer_From_The_Hub_Matches_The_Local_One_And_Remembers_Missing_Files()
    {
        hub.AddRepo("google-bert/bert-base-uncased", folder: Fixture("pretrained-tiny"));
        var s = Settings;
        var tokenizer = AutoTokenizer.FromPretrained("google-bert/bert-base-uncased", hub: s);
        var local = AutoTokenizer.FromPretrained(Fixture("pretrained-tiny"));
        const string text = "The company said it would pay $1.2 billion.";
        Assert.Equal(local.Encode(text, "Café au lait").InputIds, tokenizer.Encode(text, "Café au lait").InputIds);
        // Weights are not a tokenizer's business.
        Assert.Empty(hub.RequestsTo("model.safetensors"));

        // pretrained-tiny has no tokenizer_config.json / special_tokens_map.json: remembered as huggingface_hub does...
        var noExist = Path.Combine(s.HubCache, "models--google-bert--bert-base-uncased", ".no_exist", StandInHub.CommitFor("google-bert/bert-base-uncased"));
        Assert.True(File.Exists(Path.Combine(noExist, "tokenizer_config.json")));
        Assert.True(File.Exists(Path.Combine(noExist, "special_tokens_map.json")));
        // ...so the next load asks only which commit main is at (vocab.txt's HEAD), nothing else.
        int before = hub.Requests.Count;
        AutoTokenizer.FromPretrained("google-bert/bert-base-uncased", hub: s);
        Assert.Equal(["HEAD /google-bert/bert-base-uncased/resolve/main/vocab.txt"], hub.Requests.Skip(before).Select(r => $"{r.Method} {r.Path}"));
    }

    [FixtureFact("fixtures", "pretrained-tiny")]
    public void AutoConfig_Downloads_Only_The_Config()
    {
        hub.AddRepo("google-bert/bert-base-uncased", folder: Fixture("pretrained-tiny"));
        var config = AutoConfig.FromPretrained("google-bert/bert-base-uncased", hub: Settings);
        Assert.Equal(BertConfig.FromPretrained(Fixture("pretrained-tiny")).HiddenSize, config.HiddenSize);
        Assert.Equal("google-bert/bert-base-uncased", config.NameOrPath);
        Assert.Equal(["/google-bert/bert-base-uncased/resolve/main/config.json"], hub.Requests.Select(r => r.Path).Distinct());
        // A local folder is still read as it is.
        Assert.Equal(config.HiddenSize, AutoConfig.FromPretrained(Fixture("pretrained-tiny")).HiddenSize);
    }

    [FixtureFact("fixtures", "seqcls-model")]
    public void Sharded_Weights_Are_Fetched_Through_The_Index()
    {
        var folder = Path.Combine(tmp.Path, "sharded");
        using (var model = AutoModelForSequenceClassification.FromPretrained(Fixture("seqcls-model")))
            SafeTensorsWriter.SaveSharded(folder, model.state_dict().Select(kv => (kv.Key, kv.Value)), maxShardBytes: 6_000_000);
        File.Copy(Fixture("seqcls-model", "config.json"), Path.Combine(folder, "config.json"));
        Assert.True(Directory.GetFiles(folder, "model-0000*-of-*.safetensors").Length >= 2);
        hub.AddRepo("org/sharded", folder: folder);

        using var loaded = AutoModelForSequenceClassification.FromPretrained("org/sharded", hub: Settings);
        AssertHfLogits(loaded);
        // HF's order: model.safetensors (404, at the commit config.json resolved), then the index and every shard it lists.
        var commit = StandInHub.CommitFor("org/sharded");
        Assert.Single(hub.RequestsTo($"/resolve/{commit}/model.safetensors", "HEAD"), r => r.Path.EndsWith("/model.safetensors", StringComparison.Ordinal));
        Assert.Single(hub.RequestsTo($"/resolve/{commit}/model.safetensors.index.json", "HEAD"));
        Assert.Equal(Directory.GetFiles(folder, "model-0000*.safetensors").Length, hub.RequestsTo("/cdn/", "GET").Count);
    }

    [Fact]
    public void Hostile_Shard_Names_In_An_Index_Are_Refused_Before_Any_Download()
    {
        var index = """{"metadata": {"total_size": 8}, "weight_map": {"a.weight": "model-00001-of-00002.safetensors", "b.weight": "../../../../escaped.safetensors"}}""";
        hub.AddRepo("org/hostile", files: new Dictionary<string, byte[]>
        {
            ["config.json"] = File.ReadAllBytes(WriteTinyConfig()),
            ["model.safetensors.index.json"] = Encoding.UTF8.GetBytes(index),
        });
        var e = Assert.Throws<CheckpointException>(() => AutoModel.FromPretrained("org/hostile", hub: Settings));
        Assert.Contains("is not a plain file name", e.Message);
        Assert.Contains("../../../../escaped.safetensors", e.Message);
        Assert.Empty(hub.RequestsTo("escaped"));
        Assert.Empty(hub.RequestsTo("model-00001"));
        Assert.Empty(Directory.GetFiles(tmp.Path, "escaped*", SearchOption.AllDirectories));
    }

    string WriteTinyConfig() => tmp.Write("tiny-config.json",
        """{"model_type": "bert", "vocab_size": 99, "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 4, "intermediate_size": 37}""");

    [FixtureFact("fixtures", "tiny-random-bert")]
    public void Pickle_Only_Repository_Is_Refused_Without_Downloading_The_Pickle()
    {
        hub.AddRepo("org/pickled", folder: Fixture("tiny-random-bert"));
        var e = Assert.Throws<CheckpointException>(() => AutoModelForSequenceClassification.FromPretrained("org/pickled", hub: Settings));
        Assert.Contains("pickle", e.Message);
        Assert.Contains("pytorch_model.bin", e.Message);
        Assert.Empty(hub.RequestsTo("/cdn/", "GET"));
    }

    [Fact]
    public void Repository_Without_Weights_Says_Which_Files_It_Looked_For()
    {
        hub.AddRepo("org/config-only", files: new Dictionary<string, byte[]> { ["config.json"] = File.ReadAllBytes(WriteTinyConfig()) });
        var e = Assert.Throws<EntryNotFoundException>(() => AutoModel.FromPretrained("org/config-only", hub: Settings));
        Assert.Contains("model.safetensors or model.safetensors.index.json", e.Message);
    }

    [Fact]
    public void Weights_Never_Downloaded_Offline_Or_Unreachable_Say_So_Not_That_The_Repository_Has_None()
    {
        hub.AddRepo("org/tiny", files: new Dictionary<string, byte[]>
        {
            ["config.json"] = File.ReadAllBytes(WriteTinyConfig()),
            ["model.safetensors"] = new byte[64],
        });
        AutoConfig.FromPretrained("org/tiny", hub: Settings); // config.json is cached, the weights are not
        var offline = Assert.Throws<LocalEntryNotFoundException>(() => AutoModel.FromPretrained("org/tiny", hub: Settings with { Offline = true }));
        Assert.StartsWith("Cannot find model.safetensors of model org/tiny", offline.Message);
        Assert.Contains("offline mode is on", offline.Message);
        hub.Stop();
        var unreachable = Assert.Throws<LocalEntryNotFoundException>(() => AutoModel.FromPretrained("org/tiny", hub: Settings));
        Assert.StartsWith($"We couldn't connect to '{hub.Endpoint}' to load model.safetensors of model org/tiny", unreachable.Message);
    }

    [Fact]
    public void Missing_Local_Path_Is_Still_A_Checkpoint_Error_And_Asks_Nobody()
    {
        var missing = Path.Combine(tmp.Path, "no-such-model");
        var e = Assert.Throws<CheckpointException>(() => AutoModelForSequenceClassification.FromPretrained(missing, hub: Settings));
        Assert.Contains("not found", e.Message);
        Assert.Contains(missing, e.Message);
        Assert.Throws<CheckpointException>(() => AutoTokenizer.FromPretrained(missing, hub: Settings));
        // A file (even one whose name would be a valid id) is not a model folder.
        var file = tmp.Write("config.json", "{}");
        Assert.Contains("is a file", Assert.Throws<CheckpointException>(() => AutoConfig.FromPretrained(file, hub: Settings)).Message);
        var cwd = Directory.GetCurrentDirectory();
        Directory.SetCurrentDirectory(tmp.Path);
        try
        {
            Assert.Contains("is a file", Assert.Throws<CheckpointException>(() => AutoConfig.FromPretrained("config.json", hub: Settings)).Message);
        }
        finally
        {
            Directory.SetCurrentDirectory(cwd);
        }
        Assert.Empty(hub.Requests);
    }

    [Fact]
    public void Unknown_Model_Id_Is_Named()
    {
        var e = Assert.Throws<RepositoryNotFoundException>(() => AutoModelForSequenceClassification.FromPretrained("org/does-not-exist", hub: Settings));
        Assert.Contains("org/does-not-exist is not a local folder and is not a valid model identifier", e.Message);
    }

    /// <summary>
    /// A cache as Python's huggingface_hub leaves it after <c>from_pretrained("google-bert/bert-base-uncased")</c>
    /// (written here by hand: blobs named by ETag, refs/main, relative links), used with offline mode and no server.
    /// </summary>
    [FixtureFact("fixtures", "seqcls-model")]
    public void Cache_Written_By_Python_Is_Used_Offline()
    {
        const string commit = "86b5e0934494bd15c9632b12f734a8a67f723594";
        var cache = Path.Combine(tmp.Path, "python-cache");
        var repoFolder = Path.Combine(cache, "models--google-bert--bert-base-uncased");
        Directory.CreateDirectory(Path.Combine(repoFolder, "blobs"));
        Directory.CreateDirectory(Path.Combine(repoFolder, "refs"));
        Directory.CreateDirectory(Path.Combine(repoFolder, "snapshots", commit));
        File.WriteAllText(Path.Combine(repoFolder, "refs", "main"), commit);
        foreach (var name in new[] { "config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json" })
        {
            var bytes = File.ReadAllBytes(Fixture("seqcls-model", name));
            var etag = name.EndsWith(".safetensors", StringComparison.Ordinal)
                ? Convert.ToHexStringLower(SHA256.HashData(bytes))
                : Convert.ToHexStringLower(SHA1.HashData([.. Encoding.ASCII.GetBytes($"blob {bytes.Length}\0"), .. bytes]));
            File.WriteAllBytes(Path.Combine(repoFolder, "blobs", etag), bytes);
            File.CreateSymbolicLink(Path.Combine(repoFolder, "snapshots", commit, name), $"../../blobs/{etag}");
        }
        hub.Stop();
        var s = new HubSettings { HubCache = cache, Offline = true, Endpoint = hub.Endpoint };

        using var model = AutoModelForSequenceClassification.FromPretrained("google-bert/bert-base-uncased", hub: s);
        AssertHfLogits(model);
        var tokenizer = AutoTokenizer.FromPretrained("google-bert/bert-base-uncased", hub: s);
        Assert.Equal(AutoTokenizer.FromPretrained(Fixture("seqcls-model")).Encode("hello world").InputIds, tokenizer.Encode("hello world").InputIds);
        Assert.Equal(commit, new DirectoryInfo(Path.GetDirectoryName(FileDownload.HfHubDownload("google-bert/bert-base-uncased", "vocab.txt", settings: s))!).Name);
        // The same, pinned to the commit.
        using var pinned = AutoModelForSequenceClassification.FromPretrained("google-bert/bert-base-uncased", revision: commit, hub: s);
        AssertHfLogits(pinned);
        // A revision Python never resolved is not guessed.
        var e = Assert.Throws<LocalEntryNotFoundException>(() => AutoConfig.FromPretrained("google-bert/bert-base-uncased", revision: "v2", hub: s));
        Assert.Contains("config.json", e.Message);
        Assert.Empty(hub.Requests);
    }
}
