using FineTuning.Hub;
using FineTuning.Models.Bert;

namespace FineTuning.Models;

/// <summary>HF <c>AutoModel</c>: the bare body (no head) for the folder's model_type.</summary>
public static class AutoModel
{
    /// <param name="pretrainedModelNameOrPath">a folder with config.json and model.safetensors, or a Hub model id
    /// (<c>google-bert/bert-base-uncased</c>, <c>bert-base-uncased</c>), downloaded once into the shared cache.</param>
    /// <param name="attnImplementation">"sdpa" (default) or "eager".</param>
    /// <param name="revision">Hub ids: a branch, tag or commit hash (default "main").</param>
    /// <param name="hub">Hub ids: endpoint, cache, token, offline mode; default <see cref="HubSettings.Default"/> or the environment.</param>
    public static BertModel FromPretrained(string pretrainedModelNameOrPath, string attnImplementation = "sdpa",
                                           string? revision = null, HubSettings? hub = null)
    {
        var folder = PretrainedSource.ModelFolder(pretrainedModelNameOrPath, revision, hub);
        BertModel model;
        using (PretrainedWeights.ShowFolderAs(folder, pretrainedModelNameOrPath))
            model = BertModel.FromPretrained(folder, BertConfig.FromPretrained(folder) with { NameOrPath = pretrainedModelNameOrPath });
        model.AttnImplementation = attnImplementation;
        return model;
    }
}
