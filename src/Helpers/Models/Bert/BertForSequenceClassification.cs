using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Models.Bert;

/// <summary>
/// HF <c>BertForSequenceClassification</c>: the head swap made visible. <c>bert</c> (the pretrained body) +
/// dropout + <c>classifier</c>, a new Linear(hidden, num_labels) on the pooled [CLS] vector.
/// </summary>
public sealed class BertForSequenceClassification : BertPreTrainedModel, ITrainableModel
{
    private readonly BertModel bert;
    private readonly Dropout dropout;
    // Typed as any Tensor → Tensor module and not readonly: PEFT swaps a Linear for a LoRA layer in place
    // (FineTuning.Peft.ModuleSurgery.SetSubmodule). The constructor still builds our Linear.
    private nn.Module<Tensor, Tensor> classifier;

    public BertForSequenceClassification(BertConfig config) : base(nameof(BertForSequenceClassification), config)
    {
        bert = new BertModel(config);
        dropout = nn.Dropout(config.ClassifierDropout ?? config.HiddenDropoutProb);
        classifier = new Linear(config.HiddenSize, config.NumLabels);
        ProblemType = config.ProblemType;
        RegisterComponents();
        PostInit();
    }

    public override BertModel BaseModel => bert;

    /// <summary>Number of outputs of the classifier.</summary>
    public int NumLabels => Config.NumLabels;

    /// <summary>
    /// regression, single_label_classification or multi_label_classification; null until the first forward with
    /// labels infers it (HF: one label → regression; integer labels → single-label; else multi-label).
    /// </summary>
    public string? ProblemType { get; private set; }

    /// <summary>
    /// Loads the pretrained body from <paramref name="folder"/> and puts a fresh classifier on it (HF's head swap).
    /// Prefer <see cref="AutoModelForSequenceClassification.FromPretrained"/>, which also sets the label count.
    /// </summary>
    public static BertForSequenceClassification FromPretrained(string folder, BertConfig config, bool ignoreMismatchedSizes = false)
        => FromPretrained(folder, config, c => new BertForSequenceClassification(c), ignoreMismatchedSizes);

    /// <param name="inputIds">(batch, seq) int64.</param>
    /// <param name="attentionMask">(batch, seq) 1/0, or null.</param>
    /// <param name="tokenTypeIds">(batch, seq), or null.</param>
    /// <param name="labels">(batch) int64 class ids, (batch) float targets for regression, or (batch, num_labels)
    /// 0/1 floats for multi-label; null for no loss.</param>
    /// <param name="outputHiddenStates">also return every layer's output.</param>
    public SequenceClassifierOutput forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? tokenTypeIds = null,
                                            Tensor? labels = null, bool outputHiddenStates = false)
    {
        var outputs = bert.forward(inputIds, attentionMask, tokenTypeIds, outputHiddenStates: outputHiddenStates);
        var logits = classifier.forward(dropout.forward(outputs.PoolerOutput)); // (batch, num_labels)
        var loss = labels is null ? null : Loss(logits, labels);
        return new SequenceClassifierOutput(loss, logits, outputs.HiddenStates, outputs.PoolerOutput);
    }

    /// <inheritdoc/>
    public IReadOnlyList<string> ForwardArgumentNames { get; } = ["input_ids", "attention_mask", "token_type_ids", "labels"];

    /// <inheritdoc/>
    public SequenceClassifierOutput Forward(IReadOnlyDictionary<string, Tensor> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        foreach (var key in inputs.Keys)
            if (!ForwardArgumentNames.Contains(key))
                throw new ArgumentException($"BertForSequenceClassification.forward() got an unexpected input '{key}' "
                    + $"(it takes {string.Join(", ", ForwardArgumentNames)}).", nameof(inputs));
        var inputIds = inputs.TryGetValue("input_ids", out var ids) ? ids
            : throw new ArgumentException("the batch has no 'input_ids'.", nameof(inputs));
        return forward(inputIds, inputs.GetValueOrDefault("attention_mask"), inputs.GetValueOrDefault("token_type_ids"),
                       inputs.GetValueOrDefault("labels"));
    }

    Tensor Loss(Tensor logits, Tensor labels)
    {
        // Autocast's policy: losses in fp32, whatever dtype the logits came out in (bf16 / fp16 under autocast).
        if (logits.dtype is ScalarType.BFloat16 or ScalarType.Float16) logits = logits.to_type(ScalarType.Float32);
        ProblemType ??= NumLabels == 1 ? "regression"
                      : labels.dtype is ScalarType.Int64 or ScalarType.Int32 ? "single_label_classification"
                      : "multi_label_classification";
        return ProblemType switch
        {
            "regression" => NumLabels == 1
                ? nn.functional.mse_loss(logits.squeeze(), labels.squeeze().to_type(logits.dtype))
                : nn.functional.mse_loss(logits, labels.to_type(logits.dtype)),
            "single_label_classification" => nn.functional.cross_entropy(logits.view(-1, NumLabels), labels.view(-1).to_type(ScalarType.Int64)),
            "multi_label_classification" => nn.functional.binary_cross_entropy_with_logits(logits, labels.to_type(logits.dtype)),
            _ => throw new InvalidOperationException($"problem_type '{ProblemType}' is not one of regression, single_label_classification, multi_label_classification."),
        };
    }
}
