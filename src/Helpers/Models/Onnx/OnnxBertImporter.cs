using FineTuning.Models.Bert;
using FineTuning.SafeTensors;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Models.Onnx;

/// <summary>
/// Turns a BERT exported to ONNX by PyTorch back into the state dict Hugging Face's <c>BertModel</c> saves
/// (<c>model.safetensors</c>), so a model shipped only as .onnx loads like any Hub checkpoint.
/// </summary>
/// <remarks>
/// <para>PyTorch's exporter keeps most parameters as initializers under their module names
/// (<c>embeddings.word_embeddings.weight</c>, <c>encoder.layer.0.attention.output.LayerNorm.bias</c>,
/// <c>pooler.dense.weight</c> — the pooler's 2-D Linear becomes a <c>Gemm</c> that reads the weight as it is). The
/// Linear layers applied to 3-D activations are exported as <c>MatMul(x, W) → Add(·, b)</c> (either input order of the
/// Add), where <c>W</c> is an anonymous constant holding the weight transposed, shaped (in, out), and <c>b</c> keeps its
/// name <c>X.bias</c>. Such a <c>W</c> becomes <c>X.weight</c>, transposed back to PyTorch's (out, in): six per layer
/// (query, key, value, attention.output.dense, intermediate.dense, output.dense).</para>
/// <para>The result must be exactly the weights the config describes (<see cref="BertWeightShapes"/>): a missing
/// weight, a wrong shape, a weight found twice, or a float initializer with a BERT name the config does not have is a
/// <see cref="CheckpointException"/> naming the graph and the key. Other constants (shapes, scales, masks) are ignored.</para>
/// </remarks>
internal static class OnnxBertImporter
{
    /// <summary>The graph's weights under BertModel's keys (no <c>bert.</c> prefix), in <see cref="BertWeightShapes"/>'
    /// order, each with its values and shape (Linear weights already (out, in)).</summary>
    /// <exception cref="CheckpointException">The graph does not hold exactly the weights <paramref name="config"/> describes.</exception>
    public static IReadOnlyList<(string Key, float[] Values, long[] Shape)> Weights(OnnxModel model, BertConfig config)
    {
        var expected = ExpectedShapes(config);
        var found = new Dictionary<string, (float[] Values, long[] Shape, string From)>(StringComparer.Ordinal);
        void Add(string key, float[] values, long[] shape, string from)
        {
            if (!expected.TryGetValue(key, out var want))
                throw new CheckpointException(model.Source,
                    $"the graph holds '{key}' ({from}), which the config does not describe (num_hidden_layers {config.NumHiddenLayers})", key);
            if (!shape.SequenceEqual(want))
                throw new CheckpointException(model.Source,
                    $"'{key}' ({from}) has shape [{string.Join(", ", shape)}], the config needs [{string.Join(", ", want)}]", key);
            if (!found.TryAdd(key, (values, shape, from)))
                throw new CheckpointException(model.Source, $"'{key}' is in the graph twice: {found[key].From} and {from}", key);
        }

        // Which nodes read each value, to follow MatMul → Add.
        var readers = new Dictionary<string, List<OnnxNode>>(StringComparer.Ordinal);
        foreach (var node in model.Nodes)
            foreach (var input in node.Inputs)
                (readers.TryGetValue(input, out var list) ? list : readers[input] = []).Add(node);

        // Linear weights exported as MatMul constants (in, out) feeding an Add with the named bias.
        var mapped = new HashSet<string>(StringComparer.Ordinal);
        foreach (var matMul in model.Nodes.Where(n => n.OpType == "MatMul" && n.Inputs.Count == 2 && n.Outputs.Count == 1))
        {
            if (!model.Constants.TryGetValue(matMul.Inputs[1], out var w) || w.Dims.Length != 2 || w.DataType != OnnxTensor.Float) continue;
            if (!readers.TryGetValue(matMul.Outputs[0], out var next) || next is not [{ OpType: "Add", Inputs.Count: 2 } add]) continue;
            var biasName = add.Inputs[0] == matMul.Outputs[0] ? add.Inputs[1] : add.Inputs[0];
            if (!biasName.EndsWith(".bias", StringComparison.Ordinal) || !model.Constants.ContainsKey(biasName)) continue;
            var key = biasName[..^".bias".Length] + ".weight";
            long rows = w.Dims[0], cols = w.Dims[1];
            var values = w.ToFloats();
            var transposed = new float[values.Length]; // (in, out) → (out, in)
            for (long i = 0; i < rows; i++)
                for (long o = 0; o < cols; o++)
                    transposed[o * rows + i] = values[i * cols + o];
            Add(key, transposed, [cols, rows], $"MatMul '{matMul.Name}' constant '{w.Name}', transposed");
            mapped.Add(w.Name);
        }

        // Everything else that keeps its PyTorch name.
        foreach (var (name, tensor) in model.Constants)
        {
            if (mapped.Contains(name) || tensor.DataType != OnnxTensor.Float) continue;
            if (expected.ContainsKey(name) || IsBertName(name)) Add(name, tensor.ToFloats(), tensor.Dims, $"initializer '{name}'");
        }

        var missing = expected.Keys.Where(k => !found.ContainsKey(k)).ToList();
        if (missing.Count > 0)
            throw new CheckpointException(model.Source,
                $"the graph has no weight for {string.Join(", ", missing.Take(5))}{(missing.Count > 5 ? $" and {missing.Count - 5} more" : "")} " +
                "(neither a named initializer nor a MatMul constant feeding an Add with the matching .bias)", missing[0]);
        return expected.Keys.Select(k => (k, found[k].Values, found[k].Shape)).ToList();
    }

    /// <summary>Writes <c>model.safetensors</c> (float32, transformers' <c>{"format": "pt"}</c> metadata) into
    /// <paramref name="folder"/> from <see cref="Weights"/>.</summary>
    public static void SaveSafeTensors(string folder, OnnxModel model, BertConfig config)
    {
        var weights = Weights(model, config);
        using var scope = NewDisposeScope();
        var tensors = weights.Select(w => (w.Key, torch.tensor(w.Values, w.Shape, dtype: ScalarType.Float32))).ToList();
        SafeTensorsWriter.Save(Path.Combine(folder, SafeTensorsCheckpoint.SingleFileName), tensors);
    }

    static Dictionary<string, long[]> ExpectedShapes(BertConfig config)
    {
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var w in BertWeightShapes.Embeddings(config)) shapes[w.Key] = w.Shape;
        for (int i = 0; i < config.NumHiddenLayers; i++)
            foreach (var w in BertWeightShapes.Layer(config))
                shapes[w.Key.Replace(BertWeightShapes.LayerIndex, i.ToString(System.Globalization.CultureInfo.InvariantCulture))] = w.Shape;
        foreach (var w in BertWeightShapes.Pooler(config)) shapes[w.Key] = w.Shape;
        return shapes;
    }

    static bool IsBertName(string name) =>
        name.StartsWith("embeddings.", StringComparison.Ordinal) || name.StartsWith("encoder.", StringComparison.Ordinal)
        || name.StartsWith("pooler.", StringComparison.Ordinal);
}
