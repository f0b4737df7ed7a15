using FineTuning.Hub;
using FineTuning.Models;
using FineTuning.Tokenizers;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace FineTuning.Tests.Models.Onnx;

/// <summary>all-MiniLM-L6-v2 with no Hub and an empty cache: the settings that make FromPretrained import it from its
/// NuGet package (once, shared by the class), and the package's ONNX graph.</summary>
public sealed class ImportedMiniLM : IDisposable
{
    public const string Id = "sentence-transformers/all-MiniLM-L6-v2";

    readonly TempFolder tmp = new();

    public ImportedMiniLM()
    {
        Settings = new HubSettings { HubCache = Path.Combine(tmp.Path, "hub"), Offline = true };
        Folder = PretrainedSource.ModelFolder(Id, null, Settings);
        OnnxBytes = EmbeddedModel.MiniLM.ReadResources(EmbeddedModel.MiniLM.Locate()).Onnx;
    }

    /// <summary>Offline, with a cache that was empty.</summary>
    public HubSettings Settings { get; }

    /// <summary>The imported model folder.</summary>
    public string Folder { get; }

    public byte[] OnnxBytes { get; }

    public void Dispose() => tmp.Dispose();
}

/// <summary>
/// <c>FromPretrained("sentence-transformers/all-MiniLM-L6-v2")</c> with no Hub and an empty cache (the model imported
/// from its NuGet package) against ONNX Runtime running the package's original graph: the same last_hidden_state for a
/// batch of sentence pairs padded to the longest (padding positions included), within 1e-4.
/// </summary>
public sealed class MiniLMOnnxRuntimeTests(ImportedMiniLM imported, ITestOutputHelper log) : IClassFixture<ImportedMiniLM>
{
    static readonly (string, string)[] Pairs =
    [
        ("Amrozi accused his brother , whom he called \" the witness \" , of deliberately distorting his evidence .",
         "Referring to him as only \" the witness \" , Amrozi accused his brother of deliberately distorting his evidence ."),
        ("They had published an advertisement on the Internet on June 10 .", "On June 10 , the ship 's owners had published an advertisement ."),
        ("The stock rose $ 2.11 , or about 11 percent .", "PCCW 's chief operating officer will become chief executive ."),
        ("Hello world", "Short."),
    ];

    [Fact]
    public void Last_Hidden_State_Matches_OnnxRuntime_On_Padded_Sentence_Pairs()
    {
        var tokenizer = AutoTokenizer.FromPretrained(ImportedMiniLM.Id, hub: imported.Settings);
        var batch = tokenizer.Call(Pairs.Select(p => p.Item1).ToList(), Pairs.Select(p => p.Item2).ToList(), padding: Padding.Longest);
        int n = batch.Examples, t = batch.InputIds[0].Length;
        Assert.Contains(0, batch.AttentionMask[^1]); // the short pair is padded

        // ONNX Runtime on the original graph.
        using var session = new InferenceSession(imported.OnnxBytes);
        DenseTensor<long> Input(List<int[]> rows) => new(rows.SelectMany(r => r.Select(v => (long)v)).ToArray(), [n, t]);
        var feeds = new Dictionary<string, DenseTensor<long>>
        {
            ["input_ids"] = Input(batch.InputIds), ["attention_mask"] = Input(batch.AttentionMask), ["token_type_ids"] = Input(batch.TokenTypeIds),
        };
        Assert.Equal(feeds.Keys.Order(), session.InputMetadata.Keys.Order());
        using var results = session.Run(feeds.Select(f => NamedOnnxValue.CreateFromTensor(f.Key, f.Value)).ToList());
        var hidden = results.First(r => r.AsTensor<float>().Dimensions.Length == 3).AsTensor<float>();
        Assert.Equal([n, t, 384], hidden.Dimensions.ToArray());
        var expected = hidden.ToArray();

        // This library's BertModel on the imported folder.
        using var model = AutoModel.FromPretrained(ImportedMiniLM.Id, hub: imported.Settings);
        model.eval();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        TorchSharp.torch.Tensor Ids(List<int[]> rows) => tensor(rows.SelectMany(r => r.Select(v => (long)v)).ToArray(), [n, t]);
        var actual = model.forward(Ids(batch.InputIds), Ids(batch.AttentionMask), Ids(batch.TokenTypeIds)).LastHiddenState.data<float>().ToArray();

        var maxDiff = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        log.WriteLine($"max |Δ last_hidden_state| = {maxDiff:G3} over {n}×{t}×384 values");
        Assert.True(maxDiff <= 1e-4, $"max |Δ last_hidden_state| = {maxDiff:G3} over {n}×{t}×384 values (limit 1e-4)");
    }
}
