using System.Text.Json;
using FineTuning.Data;
using FineTuning.Hub;
using FineTuning.Models;
using FineTuning.Models.Bert;
using static FineTuning.Tests.TensorAssert;
using static TorchSharp.torch;

namespace FineTuning.Tests.Hub;

/// <summary>Tests that change the process environment run one at a time, in this collection.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HubEnvironment
{
    public const string Name = "Hub environment variables";

    /// <summary>Sets variables (null = unset) until disposed, then restores what was there.</summary>
    public static IDisposable Set(Dictionary<string, string?> variables)
    {
        var saved = variables.Keys.ToDictionary(k => k, Environment.GetEnvironmentVariable);
        foreach (var (name, value) in variables) Environment.SetEnvironmentVariable(name, value);
        return new Restore(saved);
    }

    sealed class Restore(Dictionary<string, string?> saved) : IDisposable
    {
        public void Dispose()
        {
            foreach (var (name, value) in saved) Environment.SetEnvironmentVariable(name, value);
        }
    }
}

/// <summary>
/// The lesson's calls with nothing but environment variables, as a user runs them: HF_ENDPOINT pointing at the
/// stand-in Hub and HF_HOME at a temporary folder, then HF_HUB_OFFLINE=1 with the server gone.
/// </summary>
[Collection(HubEnvironment.Name)]
public sealed class HubEnvironmentTests : IDisposable
{
    readonly TempFolder tmp = new();
    readonly StandInHub hub = new();

    public void Dispose()
    {
        hub.Dispose();
        tmp.Dispose();
    }

    static float[] ReferenceLogits(BertForSequenceClassification model, JsonElement r)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        return model.forward(LongMatrix(r.GetProperty("input_ids")), LongMatrix(r.GetProperty("attention_mask")),
                             LongMatrix(r.GetProperty("token_type_ids"))).Logits.data<float>().ToArray();
    }

    [FixtureFact("fixtures", "pretrained-tiny")]
    public void FromPretrained_Bert_Base_Uncased_Uses_HF_ENDPOINT_Then_The_Cache_With_HF_HUB_OFFLINE()
    {
        hub.AddRepo("google-bert/bert-base-uncased", folder: SharedFixtures.Path("fixtures", "pretrained-tiny"));
        hub.AddAlias("bert-base-uncased", "google-bert/bert-base-uncased");
        using var json = JsonDocument.Parse(File.ReadAllText(SharedFixtures.Path("fixtures", "forward_reference.json")));
        var expected = Floats(json.RootElement.GetProperty("logits"));
        var home = Path.Combine(tmp.Path, "hf-home");
        Assert.Null(HubSettings.Default);

        using (HubEnvironment.Set(new() { ["HF_ENDPOINT"] = hub.Endpoint, ["HF_HOME"] = home, ["HF_HUB_OFFLINE"] = null,
                                          ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1" }))
        {
            manual_seed(42);
            using var model = AutoModelForSequenceClassification.FromPretrained("bert-base-uncased", numLabels: 2);
            Close(expected, ReferenceLogits(model, json.RootElement), "logits via HF_ENDPOINT");
        }
        Assert.True(Directory.Exists(Path.Combine(home, "hub", "models--bert-base-uncased", "snapshots")));
        Assert.NotEmpty(hub.RequestsTo("/cdn/", "GET"));

        hub.Stop();
        int requests = hub.Requests.Count;
        using (HubEnvironment.Set(new() { ["HF_ENDPOINT"] = hub.Endpoint, ["HF_HOME"] = home, ["HF_HUB_OFFLINE"] = "1",
                                          ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1" }))
        {
            manual_seed(42);
            using var model = AutoModelForSequenceClassification.FromPretrained("bert-base-uncased", numLabels: 2);
            Close(expected, ReferenceLogits(model, json.RootElement), "logits from the cache, offline");
            var tokenizerError = Assert.Throws<LocalEntryNotFoundException>(() => FineTuning.Tokenizers.AutoTokenizer.FromPretrained("bert-base-uncased"));
            Assert.Contains("vocab.txt", tokenizerError.Message); // never downloaded: named
        }
        Assert.Equal(requests, hub.Requests.Count);
    }

    [FixtureFact("assets", "mrpc")]
    public void Finetune_Command_Downloads_Model_And_Glue_From_HF_ENDPOINT()
    {
        hub.AddRepo("google-bert/bert-base-uncased", folder: SharedFixtures.Path("fixtures", "pretrained-tiny"));
        hub.AddAlias("bert-base-uncased", "google-bert/bert-base-uncased");
        HubDatasetTests.ServeMrpc(hub, tmp);
        var home = Path.Combine(tmp.Path, "hf-home");
        var output = Path.Combine(tmp.Path, "out");
        using (HubEnvironment.Set(new() { ["HF_ENDPOINT"] = hub.Endpoint, ["HF_HOME"] = home, ["HF_HUB_OFFLINE"] = null,
                                          ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1" }))
        {
            var (stdout, stderr) = (new StringWriter(), new StringWriter());
            int code = FineTuning.FineTune.FineTuneProgram.Run(["--model_name_or_path", "bert-base-uncased", "--task_name", "mrpc", "--do_eval",
                "--max_eval_samples", "8", "--output_dir", output], stdout, stderr, CancellationToken.None, []);
            Assert.True(code == 0, stdout.ToString() + stderr.ToString());
        }
        Assert.True(File.Exists(Path.Combine(output, "eval_results.json")));
        Assert.True(Directory.Exists(Path.Combine(home, "hub", "models--bert-base-uncased")));
        Assert.True(Directory.Exists(Path.Combine(home, "hub", "datasets--glue")));
    }

    [Fact]
    public void Token_From_The_Token_File_Opens_A_Private_Repository()
    {
        hub.AddRepo("org/private", files: new Dictionary<string, byte[]> { ["config.json"] = "{}"u8.ToArray() }).RequiredToken = "hf_FromLogin";
        var home = Path.Combine(tmp.Path, "hf-home");
        Directory.CreateDirectory(home);
        File.WriteAllText(Path.Combine(home, "token"), "hf_FromLogin\n"); // as `huggingface-cli login` writes it
        using (HubEnvironment.Set(new() { ["HF_ENDPOINT"] = hub.Endpoint, ["HF_HOME"] = home, ["HF_HUB_OFFLINE"] = null,
                                          ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1" }))
        {
            var path = FileDownload.HfHubDownload("org/private", "config.json");
            Assert.StartsWith(Path.Combine(home, "hub", "models--org--private"), path);
        }
        Assert.Contains(hub.Requests, r => r.Authorization == "Bearer hf_FromLogin");
    }

    [Fact]
    public void Default_Settings_Win_Over_The_Environment()
    {
        hub.AddRepo("org/a", files: new Dictionary<string, byte[]> { ["config.json"] = "{}"u8.ToArray() });
        HubSettings.Default = HubTestSettings.For(hub, tmp);
        try
        {
            // The environment says offline (HubIsolation); Default says online, to the stand-in.
            Assert.True(File.Exists(FileDownload.HfHubDownload("org/a", "config.json")));
        }
        finally
        {
            HubSettings.Default = null;
        }
    }

    [Fact]
    public void Test_Process_Never_Reaches_The_Real_Hub_Or_Cache()
    {
        // HubIsolation: offline, an empty HF_HOME of its own; a missing relative folder is read as a Hub id and fails
        // without any request, naming what it looked for.
        var s = HubSettings.FromEnvironment();
        Assert.True(s.Offline);
        Assert.StartsWith(HubIsolation.HfHome, s.HubCache);
        var e = Assert.Throws<LocalEntryNotFoundException>(() => AutoModel.FromPretrained("no-such-local-folder"));
        Assert.Contains("config.json", e.Message);
        Assert.Throws<LocalEntryNotFoundException>(() => Datasets.LoadDataset("nyu-mll/glue", "sst2"));
    }
}
