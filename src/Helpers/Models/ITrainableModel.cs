using static TorchSharp.torch;

namespace FineTuning.Models;

/// <summary>
/// What <see cref="Training.Trainer"/> needs from a model besides being a <c>torch.nn.Module</c>: HF's
/// <c>model(**inputs)</c> and <c>save_pretrained</c>. <see cref="Bert.BertForSequenceClassification"/> implements it.
/// </summary>
public interface ITrainableModel
{
    /// <summary>The batch keys <see cref="Forward"/> reads (HF inspects <c>forward</c>'s signature for this): data set
    /// columns that feed none of them are dropped before collating (<c>remove_unused_columns</c>).</summary>
    IReadOnlyList<string> ForwardArgumentNames { get; }

    /// <summary><c>model(**inputs)</c>: the forward pass over a collated batch's tensors by name; the loss is set when
    /// the batch has <c>labels</c>. Logits are (batch, num_labels).</summary>
    SequenceClassifierOutput Forward(IReadOnlyDictionary<string, Tensor> inputs);

    /// <summary>HF <c>save_pretrained</c>: config.json + model.safetensors, loadable by Python transformers.</summary>
    void SavePretrained(string folder);
}
