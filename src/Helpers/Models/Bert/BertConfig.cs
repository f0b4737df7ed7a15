using System.Collections.ObjectModel;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace FineTuning.Models.Bert;

/// <summary>
/// The settings of a BERT model, as Hugging Face transformers 4.x keeps them in <c>config.json</c>
/// (<c>BertConfig</c> plus the <c>PretrainedConfig</c> fields a fine-tuning run uses).
/// </summary>
/// <remarks>
/// <para>Defaults are those of <c>bert-base-uncased</c>. The record is immutable; derive variants with
/// <c>with { ... }</c> or <see cref="WithNumLabels"/>.</para>
/// <para>Reading (<see cref="FromJson"/>, <see cref="FromFile"/>, <see cref="FromPretrained"/>) checks every field's
/// JSON type, then calls <see cref="Validate"/>, the one place where values are checked. Every problem raises
/// <see cref="CheckpointException"/> naming the file and the field.</para>
/// <para>Fields this record does not know are kept in <see cref="Extra"/> and written back by <see cref="ToJson"/>,
/// so a read/write round trip loses nothing. <c>num_labels</c> is not a stored field: HF derives it from
/// <c>id2label</c> and never writes it.</para>
/// <para>Equality compares every field, including the contents of the label maps, <see cref="Architectures"/> and
/// <see cref="Extra"/>.</para>
/// </remarks>
public sealed record BertConfig
{
    /// <summary>The <c>hidden_act</c> values this library accepts, each with the function it stands for.</summary>
    /// <remarks>
    /// <c>gelu</c> and <c>gelu_python</c>: exact GELU, x·Φ(x) with the erf (HF's GELUActivation; gelu_python is the
    /// same formula written in Python). <c>gelu_new</c>, <c>gelu_fast</c> and <c>gelu_pytorch_tanh</c>: the tanh
    /// approximation 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) (NewGELU, FastGELU, torch gelu(approximate="tanh");
    /// they differ only in float rounding). <c>relu</c>: max(0, x). <c>silu</c> and <c>swish</c>: x·sigmoid(x).
    /// <c>tanh</c>: tanh(x). Other entries of HF's ACT2FN (relu6, quick_gelu, mish, gelu_10, linear, sigmoid) are
    /// rejected.
    /// </remarks>
    public static IReadOnlyList<string> SupportedHiddenActs { get; } = new ReadOnlyCollection<string>(
        ["gelu", "gelu_new", "relu", "gelu_python", "gelu_pytorch_tanh", "gelu_fast", "silu", "swish", "tanh"]);

    /// <summary>The <c>problem_type</c> values HF accepts (besides null).</summary>
    public static IReadOnlyList<string> SupportedProblemTypes { get; } = new ReadOnlyCollection<string>(
        ["regression", "single_label_classification", "multi_label_classification"]);

    static readonly IReadOnlyDictionary<int, string> DefaultId2Label = FreezeId2Label(new Dictionary<int, string>
    {
        [0] = "LABEL_0",
        [1] = "LABEL_1",
    });

    static readonly IReadOnlyDictionary<string, JsonElement> NoExtra =
        new ReadOnlyDictionary<string, JsonElement>(new Dictionary<string, JsonElement>());

    IReadOnlyDictionary<int, string> id2Label = DefaultId2Label;
    IReadOnlyDictionary<string, int>? label2Id;
    IReadOnlyList<string>? architectures;
    IReadOnlyDictionary<string, JsonElement> extra = NoExtra;

    // ---- Model shape -------------------------------------------------------------------------------------------

    /// <summary><c>vocab_size</c>, default 30522: number of token ids the word embedding holds.
    /// 30522 for the uncased English BERT vocabularies, 28996 for cased, 119547 for multilingual.</summary>
    public int VocabSize { get; init; } = 30522;

    /// <summary><c>hidden_size</c>, default 768: width of every token vector between the layers.
    /// 768 for BERT-base, 1024 for BERT-large, 128 for bert-tiny. Must be a multiple of
    /// <see cref="NumAttentionHeads"/>.</summary>
    public int HiddenSize { get; init; } = 768;

    /// <summary><c>num_hidden_layers</c>, default 12: number of Transformer encoder layers.
    /// 12 for BERT-base, 24 for BERT-large, 2 for bert-tiny.</summary>
    public int NumHiddenLayers { get; init; } = 12;

    /// <summary><c>num_attention_heads</c>, default 12: attention heads per layer; each head sees
    /// <see cref="HiddenSize"/> / heads dimensions (64 in BERT-base). 16 for BERT-large, 2 for bert-tiny.</summary>
    public int NumAttentionHeads { get; init; } = 12;

    /// <summary><c>intermediate_size</c>, default 3072: width of the feed-forward layer inside each encoder layer,
    /// usually 4 × <see cref="HiddenSize"/> (512 for bert-tiny).</summary>
    public int IntermediateSize { get; init; } = 3072;

    /// <summary><c>hidden_act</c>, default "gelu": the feed-forward activation. Almost always "gelu" (exact, erf);
    /// one of <see cref="SupportedHiddenActs"/>, whose remarks say what each name computes.</summary>
    public string HiddenAct { get; init; } = "gelu";

    /// <summary><c>hidden_dropout_prob</c>, default 0.1: dropout probability on embeddings and on every
    /// sub-layer output, in [0, 1]. 0.1 for all released BERTs; 0 makes training deterministic.</summary>
    public double HiddenDropoutProb { get; init; } = 0.1;

    /// <summary><c>attention_probs_dropout_prob</c>, default 0.1: dropout probability on the attention weights,
    /// in [0, 1]. 0.1 for all released BERTs.</summary>
    public double AttentionProbsDropoutProb { get; init; } = 0.1;

    /// <summary><c>max_position_embeddings</c>, default 512: the longest sequence (in tokens, [CLS] and [SEP]
    /// included) the position embedding covers. 512 for all released BERTs.</summary>
    public int MaxPositionEmbeddings { get; init; } = 512;

    /// <summary><c>type_vocab_size</c>, default 2: number of segment (token type) ids, at least 1.
    /// 2 for BERT (sentence A / sentence B).</summary>
    public int TypeVocabSize { get; init; } = 2;

    /// <summary><c>initializer_range</c>, default 0.02: standard deviation of the normal distribution new weights
    /// (e.g. a fresh classifier head) are drawn from. 0.02 for all released BERTs.</summary>
    public double InitializerRange { get; init; } = 0.02;

    /// <summary><c>layer_norm_eps</c>, default 1e-12: the epsilon every LayerNorm adds to the variance; &gt; 0.
    /// 1e-12 for all released BERTs.</summary>
    public double LayerNormEps { get; init; } = 1e-12;

    /// <summary><c>pad_token_id</c>, default 0: id of the [PAD] token, in [0, <see cref="VocabSize"/>) when set;
    /// its embedding row is zeroed at initialization. 0 in the BERT vocabularies; null when unknown.</summary>
    public int? PadTokenId { get; init; } = 0;

    /// <summary><c>position_embedding_type</c>, default "absolute": how positions are encoded. Only "absolute"
    /// (learned position embeddings, what every released BERT uses) is supported; "relative_key" and
    /// "relative_key_query" are rejected.</summary>
    public string PositionEmbeddingType { get; init; } = "absolute";

    /// <summary><c>classifier_dropout</c>, default null: dropout probability before the classification head, in
    /// [0, 1]; null means "use <see cref="HiddenDropoutProb"/>". Usually null.</summary>
    public double? ClassifierDropout { get; init; }

    /// <summary><c>use_cache</c>, default true: whether a decoder returns its key/value cache. Irrelevant for the
    /// encoder-only fine-tuning here; kept for round trips. Usually true.</summary>
    public bool UseCache { get; init; } = true;

    // ---- Task head (PretrainedConfig) ------------------------------------------------------------------------------

    /// <summary><c>id2label</c>, default {0: "LABEL_0", 1: "LABEL_1"}: the name of each class the head predicts;
    /// keys are exactly 0 .. n-1. In JSON the keys are strings ("0"). Typical: {0: "NEGATIVE", 1: "POSITIVE"}.
    /// Setting it keeps a copy.</summary>
    public IReadOnlyDictionary<int, string> Id2Label
    {
        get => id2Label;
        init => id2Label = FreezeId2Label(value ?? throw new ArgumentNullException(nameof(Id2Label)));
    }

    /// <summary><c>label2id</c>, default: the inverse of <see cref="Id2Label"/> (a later id wins for a repeated
    /// name, as in HF). Set it only to keep a file's own map; setting it keeps a copy; setting null goes back to
    /// the derived map.</summary>
    [AllowNull]
    public IReadOnlyDictionary<string, int> Label2Id
    {
        get => label2Id ?? Invert(id2Label);
        init => label2Id = value is null ? null : new ReadOnlyDictionary<string, int>(new Dictionary<string, int>(value));
    }

    /// <summary>The number of classes the head predicts: <c>Id2Label.Count</c> (HF's <c>num_labels</c>, never
    /// written to JSON). 2 by default; 1 for regression. Change it with <see cref="WithNumLabels"/>.</summary>
    public int NumLabels => id2Label.Count;

    /// <summary><c>problem_type</c>, default null: the loss a sequence-classification head uses — "regression"
    /// (MSE), "single_label_classification" (cross-entropy), "multi_label_classification" (BCE with logits); null
    /// lets the head infer it from <see cref="NumLabels"/> and the label dtype.</summary>
    public string? ProblemType { get; init; }

    // ---- Provenance -----------------------------------------------------------------------------------------------

    /// <summary><c>architectures</c>, default null: the model classes the checkpoint was saved from, e.g.
    /// ["BertForPreTraining"] or ["BertForSequenceClassification"]. Setting it keeps a copy.</summary>
    public IReadOnlyList<string>? Architectures
    {
        get => architectures;
        init => architectures = value is null ? null : new ReadOnlyCollection<string>(value.ToArray());
    }

    /// <summary><c>model_type</c>, default "bert": the model family. Only "bert" is supported; a file without it is
    /// accepted when <see cref="Architectures"/> names a Bert* class, and is then read as "bert".</summary>
    public string ModelType { get; init; } = "bert";

    /// <summary><c>torch_dtype</c>, default null: the dtype the weights were saved in, e.g. "float32" or
    /// "float16". Informational.</summary>
    public string? TorchDtype { get; init; }

    /// <summary><c>transformers_version</c>, default null: the transformers version that wrote the file, e.g.
    /// "4.26.1". Informational.</summary>
    public string? TransformersVersion { get; init; }

    /// <summary><c>_name_or_path</c>, default null: the hub name or folder the model was loaded from when it was
    /// saved, e.g. "bert-base-uncased". Informational.</summary>
    public string? NameOrPath { get; init; }

    /// <summary>Every field of the source JSON this record does not model (e.g. <c>gradient_checkpointing</c>,
    /// <c>output_hidden_states</c>), by name, verbatim; written back by <see cref="ToJson"/>. Empty by default.
    /// Setting it keeps a copy.</summary>
    public IReadOnlyDictionary<string, JsonElement> Extra
    {
        get => extra;
        init
        {
            ArgumentNullException.ThrowIfNull(value, nameof(Extra));
            var copy = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            foreach (var (k, v) in value)
            {
                if (KnownFields.Contains(k))
                    throw new ArgumentException($"'{k}' is a modelled field, not an extra one.", nameof(Extra));
                copy[k] = v.Clone();
            }
            extra = new ReadOnlyDictionary<string, JsonElement>(copy);
        }
    }

    // ---- Labels -----------------------------------------------------------------------------------------------------

    /// <summary>
    /// A copy with <paramref name="numLabels"/> classes, as HF's <c>config.num_labels = n</c> (and
    /// <c>from_pretrained(..., num_labels=n)</c>): when n differs from the current count, the labels become
    /// LABEL_0 .. LABEL_{n-1}; when it is the same, the names are kept.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="numLabels"/> is below 1.</exception>
    public BertConfig WithNumLabels(int numLabels)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numLabels, 1);
        if (numLabels == NumLabels) return this;
        var labels = DefaultLabels(numLabels);
        return this with { Id2Label = labels, Label2Id = Invert(labels) };
    }

    static Dictionary<int, string> DefaultLabels(int n)
    {
        var labels = new Dictionary<int, string>(n);
        for (var i = 0; i < n; i++) labels[i] = $"LABEL_{i}";
        return labels;
    }

    static IReadOnlyDictionary<int, string> FreezeId2Label(IReadOnlyDictionary<int, string> source) =>
        new ReadOnlyDictionary<int, string>(new SortedDictionary<int, string>(source.ToDictionary()));

    static IReadOnlyDictionary<string, int> Invert(IReadOnlyDictionary<int, string> id2Label)
    {
        var inverse = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (id, name) in id2Label.OrderBy(p => p.Key)) inverse[name] = id;
        return new ReadOnlyDictionary<string, int>(inverse);
    }

    // ---- Validation -------------------------------------------------------------------------------------------

    /// <summary>
    /// Checks every value; the readers call it, and code that builds a config can too. Throws
    /// <see cref="CheckpointException"/> naming <paramref name="sourcePath"/> and the field at fault.
    /// </summary>
    /// <param name="sourcePath">The file (or a description of where the config came from) for the message.</param>
    public void Validate(string sourcePath)
    {
        void Fail(string field, string message) => throw new CheckpointException(sourcePath, message, field);

        // model_type: a missing one is read as null by the readers (only they can tell "absent" from "bert").
        if (ModelType is null)
        {
            if (!(Architectures?.Any(a => a.StartsWith("Bert", StringComparison.Ordinal)) ?? false))
                Fail("model_type", "model_type is missing and architectures names no Bert* class, so this is not "
                    + "known to be a BERT config (supported: bert)");
        }
        else if (ModelType != "bert")
            Fail("model_type", $"model_type '{ModelType}' is not supported (supported: bert)");

        void Positive(string field, int value)
        {
            if (value < 1) Fail(field, $"{field} must be a positive integer, got {value}");
        }
        Positive("vocab_size", VocabSize);
        Positive("hidden_size", HiddenSize);
        Positive("num_hidden_layers", NumHiddenLayers);
        Positive("num_attention_heads", NumAttentionHeads);
        Positive("intermediate_size", IntermediateSize);
        Positive("max_position_embeddings", MaxPositionEmbeddings);
        if (TypeVocabSize < 1) Fail("type_vocab_size", $"type_vocab_size must be at least 1, got {TypeVocabSize}");

        if (HiddenSize % NumAttentionHeads != 0)
            Fail("hidden_size", $"The hidden size ({HiddenSize}) is not a multiple of the number of attention heads "
                + $"({NumAttentionHeads}) (fields hidden_size, num_attention_heads)");

        if (HiddenAct is null || !SupportedHiddenActs.Contains(HiddenAct))
            Fail("hidden_act", $"hidden_act '{HiddenAct}' is not supported (supported: "
                + string.Join(", ", SupportedHiddenActs) + ")");

        void Probability(string field, double value)
        {
            if (!(value >= 0 && value <= 1)) Fail(field, $"{field} must be a probability in [0, 1], got {PythonJson.Float(value)}");
        }
        Probability("hidden_dropout_prob", HiddenDropoutProb);
        Probability("attention_probs_dropout_prob", AttentionProbsDropoutProb);
        if (ClassifierDropout is { } classifierDropout) Probability("classifier_dropout", classifierDropout);

        if (!(LayerNormEps > 0) || double.IsInfinity(LayerNormEps))
            Fail("layer_norm_eps", $"layer_norm_eps must be a positive number, got {PythonJson.Float(LayerNormEps)}");
        if (!(InitializerRange >= 0) || double.IsInfinity(InitializerRange))
            Fail("initializer_range", $"initializer_range must be a finite number >= 0, got {PythonJson.Float(InitializerRange)}");

        if (PadTokenId is { } pad && (pad < 0 || pad >= VocabSize))
            Fail("pad_token_id", $"pad_token_id {pad} is outside [0, vocab_size) = [0, {VocabSize})");

        if (PositionEmbeddingType != "absolute")
            Fail("position_embedding_type", $"position_embedding_type '{PositionEmbeddingType}' is not supported, "
                + "only absolute");

        if (ProblemType is not null && !SupportedProblemTypes.Contains(ProblemType))
            Fail("problem_type", $"problem_type '{ProblemType}' is not understood: only null, "
                + string.Join(", ", SupportedProblemTypes) + " are valid");

        if (Id2Label.Count == 0) Fail("id2label", "id2label is empty: a head needs at least one label");
        for (var i = 0; i < Id2Label.Count; i++)
            if (!Id2Label.ContainsKey(i))
                Fail("id2label", $"id2label keys must be 0 .. {Id2Label.Count - 1} without gaps; got keys "
                    + string.Join(", ", Id2Label.Keys));
        foreach (var (id, name) in Id2Label)
            if (name is null) Fail("id2label", $"id2label[{id}] is null");
    }

    // ---- Reading -------------------------------------------------------------------------------------------------

    static readonly HashSet<string> KnownFields = new(StringComparer.Ordinal)
    {
        "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "hidden_act",
        "hidden_dropout_prob", "attention_probs_dropout_prob", "max_position_embeddings", "type_vocab_size",
        "initializer_range", "layer_norm_eps", "pad_token_id", "position_embedding_type", "classifier_dropout",
        "use_cache", "id2label", "label2id", "num_labels", "problem_type", "architectures", "model_type",
        "torch_dtype", "transformers_version", "_name_or_path",
    };

    /// <summary>Reads the folder's <c>config.json</c> (HF's <c>BertConfig.from_pretrained(folder)</c>).</summary>
    /// <exception cref="CheckpointException">The folder or its config.json is missing, or the file is not a valid
    /// BERT config.</exception>
    public static BertConfig FromPretrained(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (!Directory.Exists(folder))
            throw new CheckpointException(folder, "model folder not found");
        var path = Path.Combine(folder, "config.json");
        if (!File.Exists(path))
            throw new CheckpointException(path, "config.json not found in the model folder");
        return FromFile(path);
    }

    /// <summary>Reads a config.json file (UTF-8, a BOM allowed).</summary>
    /// <exception cref="CheckpointException">The file is missing, unreadable, or not a valid BERT config.</exception>
    public static BertConfig FromFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new CheckpointException(path, "file not found");
        return FromJson(PythonJson.ReadText(path), path);
    }

    /// <summary>
    /// Parses config.json text as HF's <c>BertConfig(**json)</c> does, then <see cref="Validate"/>s it. Absent
    /// fields take their defaults. Labels: a present <c>id2label</c> wins; <c>num_labels</c> without <c>id2label</c>
    /// gives LABEL_0 .. LABEL_{n-1}; a <c>num_labels</c> that disagrees with a present <c>id2label</c> is ignored (HF
    /// 4.x logs "The number of labels wil be overwritten to len(id2label)").
    /// </summary>
    /// <param name="json">The file's text.</param>
    /// <param name="sourcePath">Named in every error message.</param>
    /// <exception cref="CheckpointException">Invalid JSON, a field of the wrong JSON type, or a value
    /// <see cref="Validate"/> rejects.</exception>
    public static BertConfig FromJson(string json, string sourcePath = "config.json")
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(sourcePath);
        if (string.IsNullOrWhiteSpace(json))
            throw new CheckpointException(sourcePath, "the file is empty; expected a JSON object");

        var fields = PythonJson.ReadObject(json, sourcePath);
        var reader = new FieldReader(sourcePath, fields);

        var defaults = new BertConfig();
        var id2Label = reader.Id2Label("id2label");
        var numLabels = reader.Int("num_labels", null);
        if (numLabels is < 1)
            throw new CheckpointException(sourcePath, $"num_labels must be at least 1, got {numLabels}", "num_labels");

        var config = new BertConfig
        {
            VocabSize = reader.Int("vocab_size", defaults.VocabSize)!.Value,
            HiddenSize = reader.Int("hidden_size", defaults.HiddenSize)!.Value,
            NumHiddenLayers = reader.Int("num_hidden_layers", defaults.NumHiddenLayers)!.Value,
            NumAttentionHeads = reader.Int("num_attention_heads", defaults.NumAttentionHeads)!.Value,
            IntermediateSize = reader.Int("intermediate_size", defaults.IntermediateSize)!.Value,
            HiddenAct = reader.String("hidden_act", defaults.HiddenAct, nullable: false)!,
            HiddenDropoutProb = reader.Double("hidden_dropout_prob", defaults.HiddenDropoutProb)!.Value,
            AttentionProbsDropoutProb = reader.Double("attention_probs_dropout_prob", defaults.AttentionProbsDropoutProb)!.Value,
            MaxPositionEmbeddings = reader.Int("max_position_embeddings", defaults.MaxPositionEmbeddings)!.Value,
            TypeVocabSize = reader.Int("type_vocab_size", defaults.TypeVocabSize)!.Value,
            InitializerRange = reader.Double("initializer_range", defaults.InitializerRange)!.Value,
            LayerNormEps = reader.Double("layer_norm_eps", defaults.LayerNormEps)!.Value,
            PadTokenId = reader.Int("pad_token_id", defaults.PadTokenId, nullable: true),
            PositionEmbeddingType = reader.String("position_embedding_type", defaults.PositionEmbeddingType, nullable: false)!,
            ClassifierDropout = reader.Double("classifier_dropout", null, nullable: true),
            UseCache = reader.Bool("use_cache", defaults.UseCache),
            Id2Label = id2Label ?? (numLabels is { } n ? DefaultLabels(n) : DefaultId2Label),
            Label2Id = reader.Label2Id("label2id"),
            ProblemType = reader.String("problem_type", null, nullable: true),
            Architectures = reader.StringList("architectures"),
            // null = absent; Validate decides, and the result below says "bert".
            ModelType = reader.String("model_type", null, nullable: false)!,
            TorchDtype = reader.String("torch_dtype", null, nullable: true),
            TransformersVersion = reader.String("transformers_version", null, nullable: true),
            NameOrPath = reader.String("_name_or_path", null, nullable: true),
            Extra = fields.Where(f => !KnownFields.Contains(f.Key)).ToDictionary(f => f.Key, f => f.Value.Clone()),
        };
        config.Validate(sourcePath);
        return config.ModelType is null ? config with { ModelType = "bert" } : config;
    }

    /// <summary>Typed access to the fields of one config object; every type mismatch names file and field.</summary>
    sealed class FieldReader(string sourcePath, Dictionary<string, JsonElement> fields)
    {
        CheckpointException TypeError(string field, string expected, JsonElement got) =>
            new(sourcePath, $"field '{field}': expected {expected}, got {PythonJson.Describe(got)}", field);

        bool TryGet(string field, out JsonElement value) => fields.TryGetValue(field, out value);

        public int? Int(string field, int? fallback, bool nullable = false)
        {
            if (!TryGet(field, out var e)) return fallback;
            if (e.ValueKind == JsonValueKind.Null && nullable) return null;
            return ParseInt(field, e, nullable ? "an integer or null" : "an integer");
        }

        int ParseInt(string field, JsonElement e, string expected)
        {
            if (e.ValueKind != JsonValueKind.Number || !PythonJson.IsIntegerLiteral(e.GetRawText()))
                throw TypeError(field, expected, e);
            if (!e.TryGetInt32(out var value))
                throw new CheckpointException(sourcePath, $"field '{field}': {e.GetRawText()} is out of the 32-bit "
                    + "integer range", field);
            return value;
        }

        public double? Double(string field, double? fallback, bool nullable = false)
        {
            if (!TryGet(field, out var e)) return fallback;
            if (e.ValueKind == JsonValueKind.Null && nullable) return null;
            if (e.ValueKind != JsonValueKind.Number)
                throw TypeError(field, nullable ? "a number or null" : "a number", e);
            var value = e.GetDouble();
            if (double.IsInfinity(value))
                throw new CheckpointException(sourcePath, $"field '{field}': {e.GetRawText()} is out of the double "
                    + "range", field);
            return value;
        }

        public bool Bool(string field, bool fallback)
        {
            if (!TryGet(field, out var e)) return fallback;
            return e.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw TypeError(field, "true or false", e),
            };
        }

        public string? String(string field, string? fallback, bool nullable)
        {
            if (!TryGet(field, out var e)) return fallback;
            if (e.ValueKind == JsonValueKind.Null && nullable) return null;
            if (e.ValueKind != JsonValueKind.String)
                throw TypeError(field, nullable ? "a string or null" : "a string", e);
            return e.GetString();
        }

        public IReadOnlyList<string>? StringList(string field)
        {
            if (!TryGet(field, out var e) || e.ValueKind == JsonValueKind.Null) return null;
            if (e.ValueKind != JsonValueKind.Array) throw TypeError(field, "an array of strings or null", e);
            var list = new List<string>();
            foreach (var item in e.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String)
                    throw TypeError($"{field}[{list.Count}]", "a string", item);
                list.Add(item.GetString()!);
            }
            return list;
        }

        public Dictionary<int, string>? Id2Label(string field)
        {
            if (!TryGet(field, out var e) || e.ValueKind == JsonValueKind.Null) return null;
            if (e.ValueKind != JsonValueKind.Object)
                throw TypeError(field, "an object mapping \"0\", \"1\", ... to label names", e);
            var map = new Dictionary<int, string>();
            foreach (var p in e.EnumerateObject())
            {
                if (!PythonJson.IsIntegerLiteral(p.Name) || !int.TryParse(p.Name, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var id))
                    throw new CheckpointException(sourcePath, $"field '{field}': key \"{p.Name}\" is not an integer "
                        + "class id (expected \"0\", \"1\", ...)", field);
                if (p.Value.ValueKind != JsonValueKind.String)
                    throw TypeError($"{field}[\"{p.Name}\"]", "a label name string", p.Value);
                map[id] = p.Value.GetString()!;
            }
            return map;
        }

        public Dictionary<string, int>? Label2Id(string field)
        {
            if (!TryGet(field, out var e) || e.ValueKind == JsonValueKind.Null) return null;
            if (e.ValueKind != JsonValueKind.Object)
                throw TypeError(field, "an object mapping label names to integer ids", e);
            var map = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var p in e.EnumerateObject())
                map[p.Name] = ParseInt($"{field}[\"{p.Name}\"]", p.Value, "an integer class id");
            return map;
        }
    }



    // ---- Writing -------------------------------------------------------------------------------------------------

    /// <summary>
    /// The config as HF's <c>save_pretrained</c> writes it (<c>json.dumps(diff, indent=2, sort_keys=True) + "\n"</c>):
    /// keys sorted (nested objects too), two-space indentation, non-ASCII escaped, floats in Python's shortest form
    /// (0.1, 1e-12), a trailing newline. Like HF, every BERT field is written (classifier_dropout as null when
    /// unset); id2label, label2id, problem_type, architectures, torch_dtype, transformers_version and _name_or_path
    /// only when they differ from PretrainedConfig's defaults; <see cref="Extra"/> fields as read (their floats
    /// normalized to Python's form). For the files HF writes, the output is byte for byte the file.
    /// </summary>
    public string ToJson()
    {
        var fields = new Dictionary<string, Action<PythonJson.Writer>>(StringComparer.Ordinal)
        {
            ["vocab_size"] = w => w.Int(VocabSize),
            ["hidden_size"] = w => w.Int(HiddenSize),
            ["num_hidden_layers"] = w => w.Int(NumHiddenLayers),
            ["num_attention_heads"] = w => w.Int(NumAttentionHeads),
            ["intermediate_size"] = w => w.Int(IntermediateSize),
            ["hidden_act"] = w => w.String(HiddenAct),
            ["hidden_dropout_prob"] = w => w.Double(HiddenDropoutProb),
            ["attention_probs_dropout_prob"] = w => w.Double(AttentionProbsDropoutProb),
            ["max_position_embeddings"] = w => w.Int(MaxPositionEmbeddings),
            ["type_vocab_size"] = w => w.Int(TypeVocabSize),
            ["initializer_range"] = w => w.Double(InitializerRange),
            ["layer_norm_eps"] = w => w.Double(LayerNormEps),
            ["pad_token_id"] = w => w.Int(PadTokenId),
            ["position_embedding_type"] = w => w.String(PositionEmbeddingType),
            ["classifier_dropout"] = w => w.Double(ClassifierDropout),
            ["use_cache"] = w => w.Bool(UseCache),
            ["model_type"] = w => w.String(ModelType ?? "bert"),
        };
        if (!SameMap(Id2Label, DefaultId2Label))
            fields["id2label"] = w => w.Object(Id2Label.OrderBy(p => p.Key)
                .Select(p => (p.Key.ToString(CultureInfo.InvariantCulture), (Action<PythonJson.Writer>)(w2 => w2.String(p.Value)))));
        if (!SameMap(Label2Id, Invert(DefaultId2Label)))
            fields["label2id"] = w => w.Object(Label2Id.OrderBy(p => p.Key, PythonJson.CodePointOrder)
                .Select(p => (p.Key, (Action<PythonJson.Writer>)(w2 => w2.Int(p.Value)))));
        if (ProblemType is not null) fields["problem_type"] = w => w.String(ProblemType);
        if (Architectures is not null)
            fields["architectures"] = w => w.Array(Architectures.Select(a => (Action<PythonJson.Writer>)(w2 => w2.String(a))));
        if (TorchDtype is not null) fields["torch_dtype"] = w => w.String(TorchDtype);
        if (TransformersVersion is not null) fields["transformers_version"] = w => w.String(TransformersVersion);
        if (!string.IsNullOrEmpty(NameOrPath)) fields["_name_or_path"] = w => w.String(NameOrPath);
        foreach (var (name, value) in Extra) fields[name] = w => w.Element(value);

        var writer = new PythonJson.Writer();
        writer.Object(fields.OrderBy(f => f.Key, PythonJson.CodePointOrder).Select(f => (f.Key, f.Value)));
        return writer.ToString() + "\n";
    }

    /// <summary>
    /// <see cref="Validate"/>s, then writes <see cref="ToJson"/> to <c>folder/config.json</c> (creating the folder),
    /// atomically: a temporary file in the same folder, flushed, then moved over the old file.
    /// </summary>
    /// <exception cref="CheckpointException">The config is invalid.</exception>
    public void Save(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var path = Path.Combine(folder, "config.json");
        Validate(path);
        Directory.CreateDirectory(folder);
        AtomicFile.WriteAllText(path, ToJson());
    }

    static bool SameMap<TKey, TValue>(IReadOnlyDictionary<TKey, TValue> a, IReadOnlyDictionary<TKey, TValue> b)
        where TKey : notnull =>
        a.Count == b.Count && a.All(p => b.TryGetValue(p.Key, out var v) && EqualityComparer<TValue>.Default.Equals(p.Value, v));

    // ---- Equality ------------------------------------------------------------------------------------------------

    /// <summary>Field-by-field equality; label maps, architectures and extra fields by content.</summary>
    public bool Equals(BertConfig? other)
    {
        if (other is null) return false;
        if (ReferenceEquals(this, other)) return true;
        return VocabSize == other.VocabSize
            && HiddenSize == other.HiddenSize
            && NumHiddenLayers == other.NumHiddenLayers
            && NumAttentionHeads == other.NumAttentionHeads
            && IntermediateSize == other.IntermediateSize
            && HiddenAct == other.HiddenAct
            && HiddenDropoutProb.Equals(other.HiddenDropoutProb)
            && AttentionProbsDropoutProb.Equals(other.AttentionProbsDropoutProb)
            && MaxPositionEmbeddings == other.MaxPositionEmbeddings
            && TypeVocabSize == other.TypeVocabSize
            && InitializerRange.Equals(other.InitializerRange)
            && LayerNormEps.Equals(other.LayerNormEps)
            && PadTokenId == other.PadTokenId
            && PositionEmbeddingType == other.PositionEmbeddingType
            && Nullable.Equals(ClassifierDropout, other.ClassifierDropout)
            && UseCache == other.UseCache
            && SameMap(Id2Label, other.Id2Label)
            && SameMap(Label2Id, other.Label2Id)
            && ProblemType == other.ProblemType
            && (Architectures is null ? other.Architectures is null
                : other.Architectures is not null && Architectures.SequenceEqual(other.Architectures))
            && ModelType == other.ModelType
            && TorchDtype == other.TorchDtype
            && TransformersVersion == other.TransformersVersion
            && NameOrPath == other.NameOrPath
            && Extra.Count == other.Extra.Count
            && Extra.All(p => other.Extra.TryGetValue(p.Key, out var v) && JsonElement.DeepEquals(p.Value, v));
    }

    /// <inheritdoc/>
    public override int GetHashCode() =>
        HashCode.Combine(VocabSize, HiddenSize, NumHiddenLayers, NumAttentionHeads, IntermediateSize, HiddenAct,
            NumLabels, HashCode.Combine(MaxPositionEmbeddings, TypeVocabSize, ModelType, Extra.Count));
}
