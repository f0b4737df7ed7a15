using FineTuning.Hub;
using FineTuning.Models.Bert;

namespace FineTuning.Models;

/// <summary>
/// HF <c>AutoModelForSequenceClassification</c>: reads config.json, picks the class for its model_type (bert),
/// and loads the pretrained body with a new classification head.
/// </summary>
public static class AutoModelForSequenceClassification
{
    /// <summary>
    /// The lesson's one line: <c>FromPretrained("bert-base-uncased", numLabels: 2)</c>. The checkpoint's
    /// pretraining head (cls.*) is dropped, a random classifier is added (N(0, initializer_range) weights from
    /// torch's global seed, zero bias), and HF's two warnings say so. See <see cref="BertPreTrainedModel.LoadingInfo"/>.
    /// </summary>
    /// <param name="pretrainedModelNameOrPath">a folder with config.json and model.safetensors (or a sharded index), or
    /// a Hub model id (<c>google-bert/bert-base-uncased</c>, <c>bert-base-uncased</c>) whose files are downloaded once
    /// into the cache Python's huggingface_hub uses (see <see cref="FileDownload.HfHubDownload"/>).</param>
    /// <param name="numLabels">outputs of the new head; the checkpoint's label count when null.</param>
    /// <param name="id2label">label names by id (sets numLabels too), e.g. {0: "not_equivalent", 1: "equivalent"}.</param>
    /// <param name="problemType">regression, single_label_classification or multi_label_classification; inferred when null.</param>
    /// <param name="ignoreMismatchedSizes">re-initialise weights whose shape differs (e.g. a 3-label head into 2) instead of failing.</param>
    /// <param name="attnImplementation">"sdpa" (fused, default) or "eager".</param>
    /// <param name="revision">Hub ids: a branch, tag or commit hash (default "main"). Ignored for a local folder.</param>
    /// <param name="hub">Hub ids: endpoint, cache, token, offline mode; default <see cref="HubSettings.Default"/> or the
    /// environment (HF_ENDPOINT, HF_HOME, HF_TOKEN, HF_HUB_OFFLINE, ...).</param>
    public static BertForSequenceClassification FromPretrained(string pretrainedModelNameOrPath, int? numLabels = null,
        IReadOnlyDictionary<int, string>? id2label = null, string? problemType = null, bool ignoreMismatchedSizes = false,
        string attnImplementation = "sdpa", string? revision = null, HubSettings? hub = null)
    {
        var folder = PretrainedSource.ModelFolder(pretrainedModelNameOrPath, revision, hub);
        // HF: config._name_or_path is what the caller passed (a Hub id or a folder), written back by save_pretrained.
        var config = BertConfig.FromPretrained(folder) with { NameOrPath = pretrainedModelNameOrPath };
        if (id2label is not null)
        {
            if (numLabels is not null && numLabels != id2label.Count)
                throw new ArgumentException($"numLabels ({numLabels}) disagrees with id2label ({id2label.Count} labels).", nameof(numLabels));
            config = config with { Id2Label = id2label, Label2Id = id2label.ToDictionary(kv => kv.Value, kv => kv.Key) };
        }
        else if (numLabels is not null)
        {
            config = config.WithNumLabels(numLabels.Value);
        }
        if (problemType is not null) config = config with { ProblemType = problemType };
        BertForSequenceClassification model;
        using (PretrainedWeights.ShowFolderAs(folder, pretrainedModelNameOrPath))
            model = BertForSequenceClassification.FromPretrained(folder, config, ignoreMismatchedSizes);
        model.AttnImplementation = attnImplementation;
        return model;
    }
}
