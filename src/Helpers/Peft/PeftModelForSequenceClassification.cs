using FineTuning.Models;
using static TorchSharp.torch;

namespace FineTuning.Peft;

/// <summary>
/// PEFT's <c>PeftModelForSequenceClassification</c> (task_type SEQ_CLS): a <see cref="PeftModel"/> whose config
/// also lists <c>classifier</c> and <c>score</c> in <c>modules_to_save</c>, so the freshly initialised head trains in
/// full and is saved with the adapter.
/// </summary>
public sealed class PeftModelForSequenceClassification : PeftModel
{
    /// <summary>PEFT's classifier head names for sequence classification.</summary>
    public static IReadOnlyList<string> ClassifierModuleNames { get; } = ["classifier", "score"];

    /// <param name="model">A sequence classifier, e.g. <see cref="Models.Bert.BertForSequenceClassification"/>.</param>
    /// <param name="peftConfig">The LoRA settings; task_type is set to SEQ_CLS.</param>
    public PeftModelForSequenceClassification(nn.Module model, LoraConfig peftConfig)
        : base(model as ITrainableModel is not null ? model
                   : throw new ArgumentException($"{model?.GetType().Name ?? "null"} is not a sequence classifier (ITrainableModel).", nameof(model)),
               WithClassifier(peftConfig))
    {
    }

    // PEFT extends modules_to_save with ["classifier", "score"]; names already present are not repeated here.
    static LoraConfig WithClassifier(LoraConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var names = (config.ModulesToSave ?? []).ToList();
        foreach (var name in ClassifierModuleNames)
            if (!names.Contains(name)) names.Add(name);
        return config with { TaskType = TaskType.SEQ_CLS, ModulesToSave = names };
    }

    /// <summary>The classifier's forward with the adapters in place: <c>peft_model(input_ids=..., labels=...)</c>.</summary>
    /// <param name="inputIds">(batch, seq) int64.</param>
    /// <param name="attentionMask">(batch, seq) 1/0, or null.</param>
    /// <param name="tokenTypeIds">(batch, seq), or null.</param>
    /// <param name="labels">(batch) class ids (or the model's other label forms), or null for no loss.</param>
    /// <returns>Loss (with labels) and logits (batch, num_labels).</returns>
    public SequenceClassifierOutput forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? tokenTypeIds = null, Tensor? labels = null)
    {
        var inputs = new Dictionary<string, Tensor> { ["input_ids"] = inputIds };
        if (attentionMask is not null) inputs["attention_mask"] = attentionMask;
        if (tokenTypeIds is not null) inputs["token_type_ids"] = tokenTypeIds;
        if (labels is not null) inputs["labels"] = labels;
        return Forward(inputs);
    }
}
