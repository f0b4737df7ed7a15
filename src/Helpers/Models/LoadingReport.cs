namespace FineTuning.Models;

/// <summary>One tensor whose shape in the checkpoint differs from the model's (HF's mismatched_keys).</summary>
public sealed record MismatchedKey(string Key, long[] CheckpointShape, long[] ModelShape);

/// <summary>
/// What <c>FromPretrained</c> did with a checkpoint: HF's <c>output_loading_info</c> plus the renames, as data a
/// notebook can show as a table. Key names are in the checkpoint's namespace, as HF reports them.
/// </summary>
public sealed record LoadingReport
{
    /// <summary>The folder as the caller passed it (it appears in the messages, as in HF's).</summary>
    public required string ModelPath { get; init; }
    /// <summary>The class that was initialised, e.g. BertForSequenceClassification.</summary>
    public required string ModelClass { get; init; }
    /// <summary>Model weights the checkpoint did not have: newly initialised (e.g. classifier.weight).</summary>
    public IReadOnlyList<string> MissingKeys { get; init; } = [];
    /// <summary>Checkpoint weights the model has no place for: dropped (e.g. the cls.* pretraining heads).</summary>
    public IReadOnlyList<string> UnexpectedKeys { get; init; } = [];
    /// <summary>Weights with another shape in the checkpoint; only possible with ignoreMismatchedSizes.</summary>
    public IReadOnlyList<MismatchedKey> MismatchedKeys { get; init; } = [];
    /// <summary>Legacy names mapped to current ones (LayerNorm.gamma → LayerNorm.weight, beta → bias): old → new.</summary>
    public IReadOnlyDictionary<string, string> RenamedKeys { get; init; } = new Dictionary<string, string>();
    /// <summary>Checkpoint entries that are not weights and are skipped silently (bert.embeddings.position_ids).</summary>
    public IReadOnlyList<string> IgnoredKeys { get; init; } = [];
    /// <summary>Shapes of the missing keys (the model's) and of the unexpected keys (the checkpoint's), by key.</summary>
    public IReadOnlyDictionary<string, long[]> Shapes { get; init; } = new Dictionary<string, long[]>();
    /// <summary>Every checkpoint weight that was copied into the model (model's key names).</summary>
    public IReadOnlyList<string> LoadedKeys { get; init; } = [];

    /// <summary>HF's WARNING records, in HF's words (empty when the checkpoint matched the model exactly).</summary>
    public IReadOnlyList<string> Warnings
    {
        get
        {
            var list = new List<string>();
            if (UnexpectedKeys.Count > 0)
                list.Add($"Some weights of the model checkpoint at {ModelPath} were not used when initializing {ModelClass}: {PyList(UnexpectedKeys)}\n" +
                         $"- This IS expected if you are initializing {ModelClass} from the checkpoint of a model trained on another task or with another architecture (e.g. initializing a BertForSequenceClassification model from a BertForPreTraining model).\n" +
                         $"- This IS NOT expected if you are initializing {ModelClass} from the checkpoint of a model that you expect to be exactly identical (initializing a BertForSequenceClassification model from a BertForSequenceClassification model).");
            if (MissingKeys.Count > 0)
                list.Add($"Some weights of {ModelClass} were not initialized from the model checkpoint at {ModelPath} and are newly initialized: {PyList(MissingKeys)}\n" +
                         "You should probably TRAIN this model on a down-stream task to be able to use it for predictions and inference.");
            if (MismatchedKeys.Count > 0)
                list.Add($"Some weights of {ModelClass} were not initialized from the model checkpoint at {ModelPath} and are newly initialized because the shapes did not match:\n" +
                         string.Join("\n", MismatchedKeys.Select(m => $"- {m.Key}: found shape {TorchSize(m.CheckpointShape)} in the checkpoint and {TorchSize(m.ModelShape)} in the model instantiated")) +
                         "\nYou should probably TRAIN this model on a down-stream task to be able to use it for predictions and inference.");
            return list;
        }
    }

    /// <summary>HF's INFO records for the cases without a warning.</summary>
    public IReadOnlyList<string> Infos
    {
        get
        {
            var list = new List<string>();
            if (UnexpectedKeys.Count == 0)
                list.Add($"All model checkpoint weights were used when initializing {ModelClass}.\n");
            if (MissingKeys.Count == 0 && MismatchedKeys.Count == 0)
                list.Add($"All the weights of {ModelClass} were initialized from the model checkpoint at {ModelPath}.\n" +
                         $"If your task is similar to the task the model of the checkpoint was trained on, you can already use {ModelClass} for predictions without further training.");
            return list;
        }
    }

    /// <summary>A Python list literal, as HF's f-string prints one: ['a', 'b'].</summary>
    internal static string PyList(IEnumerable<string> items) => "[" + string.Join(", ", items.Select(i => $"'{i}'")) + "]";

    /// <summary>torch.Size([2, 128]).</summary>
    internal static string TorchSize(long[] shape) => $"torch.Size([{string.Join(", ", shape)}])";
}
