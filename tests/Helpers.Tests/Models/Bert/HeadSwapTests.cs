using System.Text.Json;
using System.Text.RegularExpressions;
using FineTuning.Models;
using FineTuning.Models.Bert;
using FineTuning.SafeTensors;
using static FineTuning.Tests.TensorAssert;
using static TorchSharp.torch;

namespace FineTuning.Tests.Models.Bert;

/// <summary>
/// AutoModelForSequenceClassification.FromPretrained(pretraining checkpoint, numLabels: 2): the pretraining head is
/// dropped, a classifier is added, and HF's report says so — checked against what HF 4.26.1 did with the same file.
/// </summary>
public class HeadSwapTests
{
    static string Fixture(params string[] parts) => SharedFixtures.Path(["fixtures", .. parts]);

    /// <summary>The two WARNING records HF logged, with the folder as passed replaced by ours.</summary>
    static List<string> HfWarnings(string pathAsPassed)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Fixture("head_swap_keys.json")));
        var asPassed = json.RootElement.GetProperty("model_dir_as_passed").GetString()!;
        return json.RootElement.GetProperty("warning_records").EnumerateArray()
            .Select(r => r.GetProperty("message").GetString()!.Replace($" at {asPassed} ", $" at {pathAsPassed} "))
            .ToList();
    }

    /// <summary>HF prints list(set(...)), whose order depends on Python's hash seed: sort the ['…'] lists.</summary>
    static string SortLists(string message) => Regex.Replace(message, @"\[('[^\]]*')\]", m =>
        "[" + string.Join(", ", m.Groups[1].Value.Split(", ").Order(StringComparer.Ordinal)) + "]");

    [FixtureFact]
    public void Report_Lists_Exactly_HFs_Keys_And_Warnings()
    {
        var folder = Fixture("pretrained-tiny");
        var log = new StringWriter();
        var (writer, verbosity) = (Logging.Writer, Logging.Verbosity);
        Logging.Writer = log;
        try
        {
            manual_seed(42);
            using var model = AutoModelForSequenceClassification.FromPretrained(folder, numLabels: 2);
            var report = model.LoadingInfo!;

            using var json = JsonDocument.Parse(File.ReadAllText(Fixture("head_swap_keys.json")));
            var hfUnexpected = json.RootElement.GetProperty("unexpected_keys_sorted").EnumerateArray().Select(e => e.GetString()!).ToList();
            var hfMissing = json.RootElement.GetProperty("missing_keys_sorted_after_ignore").EnumerateArray().Select(e => e.GetString()!).ToList();
            Assert.Equal(hfUnexpected, report.UnexpectedKeys.Order(StringComparer.Ordinal));
            Assert.Equal(hfMissing, report.MissingKeys.Order(StringComparer.Ordinal));
            Assert.Empty(report.MismatchedKeys);
            Assert.Equal(["bert.embeddings.position_ids"], report.IgnoredKeys);

            var expected = HfWarnings(folder).Select(SortLists).ToList();
            Assert.Equal(expected, report.Warnings.Select(SortLists));
            // ...and they were logged, as HF logs them, joined by newlines.
            Assert.Equal(string.Join("\n", expected), SortLists(log.ToString().TrimEnd('\n')));
            Assert.Equal(File.ReadAllText(Fixture("head_swap_warning.txt")).TrimEnd('\n').Replace("at tiny-random-bert ", $"at {folder} ")
                             .Split('\n').Select(SortLists), log.ToString().TrimEnd('\n').Split('\n').Select(SortLists));
        }
        finally
        {
            (Logging.Writer, Logging.Verbosity) = (writer, verbosity);
        }
    }

    [FixtureFact]
    public void Head_Swap_Gives_HFs_Model_Bit_For_Bit_Including_The_Seeded_Classifier()
    {
        // HF: torch.manual_seed(42); from_pretrained(tiny-random-bert, num_labels=2) -> seqcls-model. Our modules draw
        // from torch's generator in HF's order, so the fresh classifier is the same numbers too.
        manual_seed(42);
        using var model = AutoModelForSequenceClassification.FromPretrained(Fixture("pretrained-tiny"), numLabels: 2);
        using var hf = SafeTensorsCheckpoint.OpenFolder(Fixture("seqcls-model"));
        var ours = model.state_dict();
        foreach (var name in hf.Names.Where(n => !n.EndsWith("position_ids")))
        {
            using var theirs = hf.Load(name);
            TensorAssert.Identical(theirs, ours[name], $"{name} differs from HF's head-swapped model");
        }
        Assert.Equal(hf.Names.Count(n => !n.EndsWith("position_ids")), ours.Count);
        Assert.True(ours["classifier.bias"].eq(0).all().item<bool>());
    }

    /// <summary>HF sets config._name_or_path to what from_pretrained was given and save_pretrained writes it: the
    /// head-swapped model saves HF's seqcls-model/config.json byte for byte, up to that path (HF was given
    /// "tiny-random-bert"). PEFT's adapter_config.json takes its base_model_name_or_path from it.</summary>
    [FixtureFact]
    public void Saved_Config_Is_HFs_With_The_Name_Or_Path_As_Passed()
    {
        using var folder = new TempFolder();
        var passed = Fixture("pretrained-tiny");
        using var model = AutoModelForSequenceClassification.FromPretrained(passed, numLabels: 2);
        Assert.Equal(passed, model.Config.NameOrPath);
        Assert.Equal(passed, AutoConfig.FromPretrained(passed).NameOrPath);
        Assert.Equal(passed, AutoModel.FromPretrained(passed).Config.NameOrPath);
        model.SavePretrained(folder.Path);
        var ours = File.ReadAllText(Path.Combine(folder.Path, "config.json"));
        var hfs = File.ReadAllText(Fixture("seqcls-model", "config.json"));
        Assert.Equal(hfs, ours.Replace(JsonSerializer.Serialize(passed), "\"tiny-random-bert\""));
    }

    [FixtureFact]
    public void Legacy_Gamma_Beta_Checkpoint_Loads_Into_The_Same_Model()
    {
        manual_seed(42);
        using var current = AutoModelForSequenceClassification.FromPretrained(Fixture("pretrained-tiny"), numLabels: 2);
        manual_seed(42);
        using var legacy = AutoModelForSequenceClassification.FromPretrained(Fixture("pretrained-tiny-legacy"), numLabels: 2);
        foreach (var (name, t) in current.state_dict())
            TensorAssert.Identical(t, legacy.state_dict()[name], $"{name} differs when loaded from legacy names");

        var renamed = legacy.LoadingInfo!.RenamedKeys;
        Assert.Equal(12, renamed.Count); // 6 LayerNorms (embeddings, 2 per layer x 2, cls transform) x gamma/beta
        Assert.Equal("bert.embeddings.LayerNorm.weight", renamed["bert.embeddings.LayerNorm.gamma"]);
        Assert.Equal("bert.encoder.layer.1.output.LayerNorm.bias", renamed["bert.encoder.layer.1.output.LayerNorm.beta"]);
        Assert.Equal(current.LoadingInfo!.MissingKeys, legacy.LoadingInfo.MissingKeys);
        // The legacy file has no cls.predictions.decoder.bias (transformers issue #11809); the rest is reported alike.
        Assert.Equal(current.LoadingInfo.UnexpectedKeys.Where(k => k != "cls.predictions.decoder.bias").Order(),
                     legacy.LoadingInfo.UnexpectedKeys.Order());
    }

    [FixtureFact]
    public void Bare_BertModel_Checkpoint_Loads_Into_Classifier_And_Full_Checkpoint_Into_BertModel()
    {
        var bare = Path.Combine(Path.GetTempPath(), $"bare-bert-{Guid.NewGuid():N}");
        try
        {
            // A full checkpoint (bert.* keys) into BertModel: the prefix is removed, head weights are unexpected.
            using var body = BertModel.FromPretrained(Fixture("seqcls-model"));
            Assert.Equal(["classifier.weight", "classifier.bias"], body.LoadingInfo!.UnexpectedKeys.OrderDescending());
            Assert.Empty(body.LoadingInfo.MissingKeys);
            body.SavePretrained(bare);
            using (var file = SafeTensorsFile.Open(Path.Combine(bare, "model.safetensors")))
                Assert.DoesNotContain(file.Names, n => n.StartsWith("bert."));

            // A bare checkpoint (no bert. prefix) into the classifier: the prefix is added, only the head is new.
            using var model = AutoModelForSequenceClassification.FromPretrained(bare, numLabels: 2);
            Assert.Equal(["classifier.weight", "classifier.bias"], model.LoadingInfo!.MissingKeys.OrderDescending());
            Assert.Empty(model.LoadingInfo.UnexpectedKeys);
            foreach (var (name, t) in body.state_dict())
                TensorAssert.Identical(t, model.state_dict()["bert." + name], name);
        }
        finally
        {
            if (Directory.Exists(bare)) Directory.Delete(bare, true);
        }
    }

    [FixtureFact]
    public void Three_Label_Head_Into_Two_Labels_Fails_Unless_Mismatches_Are_Ignored()
    {
        var three = Path.Combine(Path.GetTempPath(), $"three-labels-{Guid.NewGuid():N}");
        try
        {
            using (var m = AutoModelForSequenceClassification.FromPretrained(Fixture("pretrained-tiny"), numLabels: 3))
                m.SavePretrained(three);

            var e = Assert.Throws<CheckpointException>(() => AutoModelForSequenceClassification.FromPretrained(three, numLabels: 2));
            Assert.Contains("model.safetensors", e.Message);
            Assert.Contains("size mismatch for classifier.weight: copying a param with shape torch.Size([3, 128]) from checkpoint, the shape in current model is torch.Size([2, 128])", e.Message);
            Assert.Contains("ignoreMismatchedSizes", e.Message);

            using var model = AutoModelForSequenceClassification.FromPretrained(three, numLabels: 2, ignoreMismatchedSizes: true);
            var report = model.LoadingInfo!;
            Assert.Equal(["classifier.bias", "classifier.weight"], report.MismatchedKeys.Select(k => k.Key).Order());
            Assert.Empty(report.MissingKeys);
            Assert.Contains("- classifier.weight: found shape torch.Size([3, 128]) in the checkpoint and torch.Size([2, 128]) in the model instantiated",
                            Assert.Single(report.Warnings));
            Assert.Equal(new long[] { 2, 128 }, model.state_dict()["classifier.weight"].shape);
        }
        finally
        {
            if (Directory.Exists(three)) Directory.Delete(three, true);
        }
    }

    [FixtureFact]
    public void Pickle_Only_Folder_Is_Refused_With_A_Way_Out()
    {
        var e = Assert.Throws<CheckpointException>(() => AutoModelForSequenceClassification.FromPretrained(Fixture("tiny-random-bert"), numLabels: 2));
        Assert.Contains("pytorch_model.bin", e.Message);
        Assert.Contains("pickle", e.Message);
        Assert.Contains("safe_serialization", e.Message);
    }
}
