namespace FineTuning.Hub;

/// <summary>huggingface_hub's <c>repo_type</c>: a model (the default) or a dataset repository.</summary>
public enum RepoType
{
    /// <summary>A model: <c>{endpoint}/{repo}/resolve/…</c>, cached as <c>models--org--name</c>.</summary>
    Model,
    /// <summary>A dataset: <c>{endpoint}/datasets/{repo}/resolve/…</c>, cached as <c>datasets--org--name</c>.</summary>
    Dataset,
}
