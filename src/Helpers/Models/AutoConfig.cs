using FineTuning.Hub;
using FineTuning.Models.Bert;

namespace FineTuning.Models;

/// <summary>HF <c>AutoConfig</c>: a model's config.json, from a folder or the Hub, as the class its model_type names
/// (bert → <see cref="BertConfig"/>).</summary>
public static class AutoConfig
{
    /// <summary>HF <c>AutoConfig.from_pretrained</c>: reads config.json only (no weights are downloaded).</summary>
    /// <param name="pretrainedModelNameOrPath">a folder with config.json, or a Hub model id.</param>
    /// <param name="revision">Hub ids: a branch, tag or commit hash (default "main").</param>
    /// <param name="hub">Hub ids: endpoint, cache, token, offline mode; default <see cref="HubSettings.Default"/> or the environment.</param>
    /// <exception cref="CheckpointException">config.json is missing or not a BERT configuration.</exception>
    public static BertConfig FromPretrained(string pretrainedModelNameOrPath, string? revision = null, HubSettings? hub = null)
    {
        var folder = PretrainedSource.ModelFolder(pretrainedModelNameOrPath, revision, hub, withWeights: false);
        // HF: config._name_or_path is what the caller passed (a Hub id or a folder), written back by save_pretrained.
        return BertConfig.FromPretrained(folder) with { NameOrPath = pretrainedModelNameOrPath };
    }
}
