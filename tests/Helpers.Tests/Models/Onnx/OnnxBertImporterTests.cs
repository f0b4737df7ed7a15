using FineTuning.Models;
using FineTuning.Models.Bert;
using FineTuning.Models.Onnx;
using FineTuning.SafeTensors;

namespace FineTuning.Tests.Models.Onnx;

/// <summary>
/// The ONNX → Hugging Face mapping on small graphs written byte by byte here: named initializers keep their names, each
/// MatMul constant (in, out) feeding an Add with <c>X.bias</c> becomes <c>X.weight</c> transposed to (out, in), and
/// anything else in the graph is ignored; a graph that does not hold exactly the config's weights is refused, naming the key.
/// </summary>
public sealed class OnnxBertImporterTests : IDisposable
{
    readonly TempFolder tmp = new();

    public void Dispose() => tmp.Dispose();

    // vocab 7, hidden 4, 2 heads, intermediate 6, 5 positions: every weight has a distinct shape or content.
    static readonly BertConfig Tiny = new()
    {
        VocabSize = 7, HiddenSize = 4, NumHiddenLayers = 1, NumAttentionHeads = 2, IntermediateSize = 6,
        MaxPositionEmbeddings = 5, TypeVocabSize = 2, Architectures = ["BertModel"],
    };

    static readonly string[] Linears =
        ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense", "intermediate.dense", "output.dense"];

    /// <summary>Distinct values for each key: key number × 1000 + element index.</summary>
    static float[] Values(int keyNumber, long count) => Enumerable.Range(0, (int)count).Select(i => keyNumber * 1000f + i).ToArray();

    /// <summary>
    /// A graph as PyTorch exports BertModel: embeddings, LayerNorms, biases and the pooler's Gemm weight as named
    /// initializers; the six Linear weights of each layer as anonymous MatMul constants (in, out) followed by an Add with
    /// the bias (bias first for some, second for others, as exporters do both); plus shape constants to ignore.
    /// Returns the bytes and the weights HF's state dict must hold (out, in).
    /// </summary>
    static (byte[] Bytes, Dictionary<string, (float[] Values, long[] Shape)> Expected) ExportLike(BertConfig config, Func<string, bool>? skipAdd = null)
    {
        var g = new OnnxGraphBuilder();
        var expected = new Dictionary<string, (float[], long[])>();
        int number = 1;
        var weights = BertWeightShapes.Embeddings(config)
            .Concat(Enumerable.Range(0, config.NumHiddenLayers).SelectMany(i => BertWeightShapes.Layer(config)
                .Select(w => w with { Key = w.Key.Replace(BertWeightShapes.LayerIndex, i.ToString()) })))
            .Concat(BertWeightShapes.Pooler(config));
        g.Node("Gather", ["embeddings.word_embeddings.weight", "input_ids"], ["emb"]);
        g.Int64Initializer("onnx::Reshape_99", [1, -1, 2, 2]);
        foreach (var w in weights)
        {
            var values = Values(number++, (long)w.Count);
            expected[w.Key] = (values, w.Shape);
            var linear = Linears.Any(l => w.Key.EndsWith(l + ".weight"));
            if (!linear)
            {
                g.Initializer(w.Key, w.Shape, values, asFloatData: number % 2 == 0);
                continue;
            }
            // (out, in) → the exporter's (in, out) constant.
            long outF = w.Shape[0], inF = w.Shape[1];
            var transposed = new float[values.Length];
            for (long o = 0; o < outF; o++)
                for (long i = 0; i < inF; i++)
                    transposed[i * outF + o] = values[o * inF + i];
            var prefix = w.Key[..^".weight".Length];
            var constant = $"onnx::MatMul_{number}";
            g.Initializer(constant, [inF, outF], transposed);
            g.Node("MatMul", [$"x_{number}", constant], [$"mm_{number}"]);
            if (skipAdd?.Invoke(prefix) == true) continue;
            g.Node("Add", number % 2 == 0 ? [prefix + ".bias", $"mm_{number}"] : [$"mm_{number}", prefix + ".bias"], [$"y_{number}"]);
        }
        g.Node("Gemm", ["cls", "pooler.dense.weight", "pooler.dense.bias"], ["pooled"]);
        return (g.ToBytes(), expected);
    }

    [Fact]
    public void Named_Initializers_Keep_Their_Names_And_MatMul_Constants_Become_Transposed_Weights()
    {
        var (bytes, expected) = ExportLike(Tiny);
        var model = OnnxModel.Parse(bytes, "tiny.onnx");
        Assert.Equal(13, model.OpsetVersion);

        var weights = OnnxBertImporter.Weights(model, Tiny);

        Assert.Equal(expected.Keys.Order(), weights.Select(w => w.Key).Order());
        foreach (var (key, values, shape) in weights)
        {
            Assert.Equal(expected[key].Shape, shape);
            Assert.Equal(expected[key].Values, values);
        }
        // 5 embeddings + 16 per layer + 2 pooler; 6 came from MatMul constants.
        Assert.Equal(23, weights.Count);
    }

    [Fact]
    public void The_Written_Safetensors_Load_Into_BertModel_Under_The_Same_Names()
    {
        var (bytes, expected) = ExportLike(Tiny);
        Tiny.Save(tmp.Path);
        OnnxBertImporter.SaveSafeTensors(tmp.Path, OnnxModel.Parse(bytes, "tiny.onnx"), Tiny);

        using var bert = AutoModel.FromPretrained(tmp.Path);
        var state = bert.state_dict();
        foreach (var (key, (values, shape)) in expected)
        {
            Assert.Equal(shape, state[key].shape);
            Assert.Equal(values, state[key].data<float>().ToArray());
        }
    }

    [Fact]
    public void A_Linear_Without_Its_Bias_Add_Is_A_Missing_Weight_Named_In_The_Error()
    {
        var (bytes, _) = ExportLike(Tiny, skipAdd: prefix => prefix.EndsWith("attention.self.key"));
        var e = Assert.Throws<CheckpointException>(() => OnnxBertImporter.Weights(OnnxModel.Parse(bytes, "tiny.onnx"), Tiny));
        Assert.Equal("encoder.layer.0.attention.self.key.weight", e.Key);
        Assert.Contains("tiny.onnx", e.Message);
    }

    [Fact]
    public void A_Graph_That_Does_Not_Match_The_Config_Is_Refused_Naming_The_Key()
    {
        var (twoLayers, _) = ExportLike(Tiny with { NumHiddenLayers = 2 });
        var extra = Assert.Throws<CheckpointException>(() => OnnxBertImporter.Weights(OnnxModel.Parse(twoLayers, "two.onnx"), Tiny));
        Assert.StartsWith("encoder.layer.1.", extra.Key);
        Assert.Contains("does not describe", extra.Message);

        var (oneLayer, _) = ExportLike(Tiny);
        var missing = Assert.Throws<CheckpointException>(() =>
            OnnxBertImporter.Weights(OnnxModel.Parse(oneLayer, "one.onnx"), Tiny with { NumHiddenLayers = 2 }));
        Assert.StartsWith("encoder.layer.1.", missing.Key);

        var shape = Assert.Throws<CheckpointException>(() =>
            OnnxBertImporter.Weights(OnnxModel.Parse(oneLayer, "one.onnx"), Tiny with { VocabSize = 8 }));
        Assert.Equal("embeddings.word_embeddings.weight", shape.Key);
        Assert.Contains("[7, 4]", shape.Message);
        Assert.Contains("[8, 4]", shape.Message);
    }

    [Fact]
    public void Truncated_Bytes_Are_A_Format_Error_Naming_The_Source()
    {
        var (bytes, _) = ExportLike(Tiny);
        var e = Assert.Throws<FormatException>(() => OnnxModel.Parse(bytes.AsMemory(0, bytes.Length - 10), "cut.onnx"));
        Assert.Contains("cut.onnx", e.Message);
        Assert.Contains("byte", e.Message);
    }
}
