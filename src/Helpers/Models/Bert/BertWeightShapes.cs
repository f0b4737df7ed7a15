using System.Globalization;
using System.Text.RegularExpressions;
using FineTuning.SafeTensors;

namespace FineTuning.Models.Bert;

/// <summary>
/// The shape of every BERT weight worked out from a <see cref="BertConfig"/> alone, without building the model (HF gets
/// the same by building it on the meta device). <see cref="BertPreTrainedModel"/> uses it before anything is
/// allocated: config.json is compared with the checkpoint's safetensors header (read without loading a tensor), and a
/// config whose model cannot fit in this machine's memory is refused — so a config.json claiming
/// <c>vocab_size</c> 10^9 fails in milliseconds with a message naming the field, instead of allocating hundreds of
/// gigabytes first. <c>BertWeightShapesTests</c> checks that these shapes are exactly the built model's.
/// </summary>
internal static partial class BertWeightShapes
{
    /// <summary>One dimension of a weight, with the config field that sets it.</summary>
    internal readonly record struct Dim(string Field, long Size);

    /// <summary>A weight of <see cref="BertModel"/>: its state-dict key (no <c>bert.</c> prefix; <see cref="LayerIndex"/>
    /// stands for the layer number) and its dimensions.</summary>
    internal sealed record Weight(string Key, Dim[] Dims)
    {
        public long[] Shape => Dims.Select(d => d.Size).ToArray();

        /// <summary>Number of elements, as a double: config fields can multiply past a long.</summary>
        public double Count => Dims.Aggregate(1.0, (n, d) => n * d.Size);
    }

    /// <summary>The placeholder for the layer number in <see cref="Layer"/>'s keys.</summary>
    public const string LayerIndex = "{i}";

    static Dim Hidden(BertConfig c) => new("hidden_size", c.HiddenSize);

    /// <summary><c>BertEmbeddings</c>: word (vocab, hidden), position (max_position, hidden), token type (type_vocab,
    /// hidden), LayerNorm (hidden).</summary>
    public static IReadOnlyList<Weight> Embeddings(BertConfig c)
    {
        var h = Hidden(c);
        return
        [
            new("embeddings.word_embeddings.weight", [new("vocab_size", c.VocabSize), h]),
            new("embeddings.position_embeddings.weight", [new("max_position_embeddings", c.MaxPositionEmbeddings), h]),
            new("embeddings.token_type_embeddings.weight", [new("type_vocab_size", c.TypeVocabSize), h]),
            new("embeddings.LayerNorm.weight", [h]),
            new("embeddings.LayerNorm.bias", [h]),
        ];
    }

    /// <summary>One <c>BertLayer</c> (key <c>encoder.layer.{i}.…</c>): query, key, value and the attention output
    /// (hidden, hidden), two LayerNorms (hidden), intermediate (intermediate, hidden), output (hidden, intermediate).</summary>
    public static IReadOnlyList<Weight> Layer(BertConfig c)
    {
        var h = Hidden(c);
        var i = new Dim("intermediate_size", c.IntermediateSize);
        const string p = "encoder.layer." + LayerIndex + ".";
        return
        [
            new(p + "attention.self.query.weight", [h, h]), new(p + "attention.self.query.bias", [h]),
            new(p + "attention.self.key.weight", [h, h]), new(p + "attention.self.key.bias", [h]),
            new(p + "attention.self.value.weight", [h, h]), new(p + "attention.self.value.bias", [h]),
            new(p + "attention.output.dense.weight", [h, h]), new(p + "attention.output.dense.bias", [h]),
            new(p + "attention.output.LayerNorm.weight", [h]), new(p + "attention.output.LayerNorm.bias", [h]),
            new(p + "intermediate.dense.weight", [i, h]), new(p + "intermediate.dense.bias", [i]),
            new(p + "output.dense.weight", [h, i]), new(p + "output.dense.bias", [h]),
            new(p + "output.LayerNorm.weight", [h]), new(p + "output.LayerNorm.bias", [h]),
        ];
    }

    /// <summary><c>BertPooler</c>: dense (hidden, hidden).</summary>
    public static IReadOnlyList<Weight> Pooler(BertConfig c) =>
        [new("pooler.dense.weight", [Hidden(c), Hidden(c)]), new("pooler.dense.bias", [Hidden(c)])];

    /// <summary>The parameters of <see cref="BertModel"/> (a head adds num_labels × (hidden + 1), negligible).</summary>
    public static double ParameterCount(BertConfig c, bool addPoolingLayer = true) =>
        Embeddings(c).Sum(w => w.Count) + (double)c.NumHiddenLayers * Layer(c).Sum(w => w.Count)
        + (addPoolingLayer ? Pooler(c).Sum(w => w.Count) : 0);

    [GeneratedRegex(@"^encoder\.layer\.([0-9]{1,9})\.(.+)$")]
    private static partial Regex LayerKey();

    /// <summary>
    /// Compares the shapes the config implies with the checkpoint's, for every body weight both have (embeddings, the
    /// layers the config keeps, pooler; heads are left to the loader and <c>ignoreMismatchedSizes</c>), in model order.
    /// Layers the checkpoint lacks or has beyond num_hidden_layers are not errors: HF initialises or drops them.
    /// </summary>
    /// <exception cref="CheckpointException">A shape differs: the message names <paramref name="configPath"/>, the field,
    /// its value, the checkpoint's tensor and shape.</exception>
    public static void CheckAgainstCheckpoint(BertConfig config, SafeTensorsCheckpoint checkpoint, string configPath)
    {
        // The checkpoint's names as the model's keys: TensorFlow-era gamma/beta fixed, the "bert." prefix dropped.
        var byKey = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in checkpoint.Names)
        {
            var key = PretrainedWeights.FixLegacyName(name);
            if (key.StartsWith(BertPreTrainedModel.BaseModelPrefix + ".", StringComparison.Ordinal))
                key = key[(BertPreTrainedModel.BaseModelPrefix.Length + 1)..];
            byKey.TryAdd(key, name);
        }

        foreach (var weight in Embeddings(config)) Check(weight, weight.Key);
        // The layers' weights, in model order: by layer, then as Layer lists them.
        var layer = Layer(config).Select((w, position) => (Weight: w, Position: position))
            .ToDictionary(x => x.Weight.Key[$"encoder.layer.{LayerIndex}.".Length..], StringComparer.Ordinal);
        var layerKeys = byKey.Keys.Select(k => LayerKey().Match(k)).Where(m => m.Success)
            .Select(m => (Key: m.Value, Index: int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), Tail: m.Groups[2].Value))
            .Where(x => x.Index < config.NumHiddenLayers && layer.ContainsKey(x.Tail))
            .OrderBy(x => x.Index).ThenBy(x => layer[x.Tail].Position);
        foreach (var (key, _, tail) in layerKeys) Check(layer[tail].Weight, key);
        foreach (var weight in Pooler(config)) Check(weight, weight.Key);

        void Check(Weight weight, string key)
        {
            if (!byKey.TryGetValue(key, out var name)) return;
            var actual = checkpoint.Info(name).Shape;
            var expected = weight.Shape;
            if (actual.SequenceEqual(expected)) return;
            int d = actual.Length == expected.Length ? Enumerable.Range(0, expected.Length).First(k => actual[k] != expected[k]) : 0;
            var field = weight.Dims[d].Field;
            var says = actual.Length == expected.Length ? $" (the weights say {field} {actual[d]})" : "";
            throw new CheckpointException(configPath,
                $"{field} {weight.Dims[d].Size} disagrees with the checkpoint's {name} {Format(actual)} in " +
                $"{Path.GetFileName(checkpoint.FileOf(name))}{says}: config.json and the weights describe different models.", field);
        }
    }

    static string Format(long[] shape) => "[" + string.Join(", ", shape) + "]";

    // ---- memory -------------------------------------------------------------------------------------------------------

    static readonly AsyncLocal<long?> memoryLimitForTests = new();

    /// <summary>Tests: pretend the machine has this much memory until disposed (this async flow only).</summary>
    internal static IDisposable LimitMemoryForTests(long bytes)
    {
        var previous = memoryLimitForTests.Value;
        memoryLimitForTests.Value = bytes;
        return new Restore(() => memoryLimitForTests.Value = previous);
    }

    sealed class Restore(Action action) : IDisposable
    {
        public void Dispose() => action();
    }

    /// <summary>The memory this process can use: physical memory, or the container's limit (what the GC sees).</summary>
    internal static long MemoryLimit() => memoryLimitForTests.Value ?? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    /// <summary>
    /// Refuses a config whose model has more float32 parameter bytes than this process has memory — a model that could
    /// never be built, described by a config.json with an absurd size — before anything is allocated.
    /// </summary>
    /// <param name="config">the architecture.</param>
    /// <param name="addPoolingLayer">whether the model has the pooler.</param>
    /// <param name="configPath">the config.json it came from (a <see cref="CheckpointException"/> then names it); null for
    /// a config built in code (an <see cref="ArgumentException"/>).</param>
    public static void EnsureFitsInMemory(BertConfig config, bool addPoolingLayer, string? configPath)
    {
        ArgumentNullException.ThrowIfNull(config);
        double parameters = ParameterCount(config, addPoolingLayer);
        double bytes = parameters * sizeof(float);
        long limit = MemoryLimit();
        if (limit <= 0 || bytes <= limit) return;

        // Name the part that makes it too big, and the field to look at.
        var h = config.HiddenSize;
        var parts = new (double Count, string What, string Field)[]
        {
            ((double)config.VocabSize * h, $"the word embeddings, vocab_size {config.VocabSize} × hidden_size {h}", "vocab_size"),
            ((double)config.MaxPositionEmbeddings * h, $"the position embeddings, max_position_embeddings {config.MaxPositionEmbeddings} × hidden_size {h}", "max_position_embeddings"),
            ((double)config.TypeVocabSize * h, $"the token type embeddings, type_vocab_size {config.TypeVocabSize} × hidden_size {h}", "type_vocab_size"),
            ((double)config.NumHiddenLayers * Layer(config).Sum(w => w.Count),
                $"the encoder, num_hidden_layers {config.NumHiddenLayers} × {Layer(config).Sum(w => w.Count).ToString("N0", CultureInfo.InvariantCulture)} " +
                $"parameters per layer (hidden_size {h}, intermediate_size {config.IntermediateSize})",
                // No released BERT has more than 48 layers or an intermediate size over 4 × hidden.
                config.NumHiddenLayers > 1000 ? "num_hidden_layers" : config.IntermediateSize > 16L * h ? "intermediate_size" : "hidden_size"),
        };
        var largest = parts.MaxBy(p => p.Count);
        var message = $"the model this config describes has {parameters.ToString("N0", CultureInfo.InvariantCulture)} parameters, " +
                      $"{Size(bytes)} in float32, more than the {Size(limit)} of memory this process can use; most of it is {largest.What}. " +
                      $"Check {largest.Field}.";
        throw configPath is null
            ? new ArgumentException($"BertConfig: {message}", nameof(config))
            : new CheckpointException(configPath, message, largest.Field);
    }

    static string Size(double bytes) => bytes >= 1L << 40
        ? (bytes / (1L << 40)).ToString("N1", CultureInfo.InvariantCulture) + " TiB"
        : (bytes / (1L << 30)).ToString("N1", CultureInfo.InvariantCulture) + " GiB";
}
