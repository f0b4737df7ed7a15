using FineTuning.Models.Bert;

namespace FineTuning.Models;

/// <summary>HF <c>AutoModel</c>: the bare body (no head) for the folder's model_type.</summary>
public static class AutoModel
{
    /// <param name="pretrainedModelNameOrPath">a folder with config.json and model.safetensors.</param>
    /// <param name="attnImplementation">"sdpa" (default) or "eager".</param>
    public static BertModel FromPretrained(string pretrainedModelNameOrPath, string attnImplementation = "sdpa")
    {
        var model = BertModel.FromPretrained(pretrainedModelNameOrPath);
        model.AttnImplementation = attnImplementation;
        return model;
    }
}
