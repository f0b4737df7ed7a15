using System.Text.RegularExpressions;

namespace FineTuning.Hub;

/// <summary>
/// A repository on the Hub: its id (<c>google-bert/bert-base-uncased</c>, or a legacy one-part name such as
/// <c>bert-base-uncased</c>) and type. The id is checked as huggingface_hub's <c>validate_repo_id</c> checks it, so it
/// is also safe as part of a cache folder name.
/// </summary>
public sealed partial record HubRepo
{
    /// <summary>Creates the repository reference.</summary>
    /// <exception cref="ArgumentException">The id is not a valid Hub repository id (the message says why).</exception>
    public HubRepo(string id, RepoType type = RepoType.Model)
    {
        if (Validate(id) is { } problem) throw new ArgumentException(problem, nameof(id));
        Id = id;
        Type = type;
    }

    /// <summary>The repository id as given: <c>org/name</c> or a legacy <c>name</c>.</summary>
    public string Id { get; }

    /// <summary>Model or dataset.</summary>
    public RepoType Type { get; }

    /// <summary>huggingface_hub's <c>repo_folder_name</c>: <c>models--google-bert--bert-base-uncased</c>,
    /// <c>datasets--nyu-mll--glue</c>.</summary>
    public string CacheFolderName => string.Join("--", [Type == RepoType.Dataset ? "datasets" : "models", .. Id.Split('/')]);

    /// <summary>The repository's path on the endpoint: <c>google-bert/bert-base-uncased</c>, <c>datasets/nyu-mll/glue</c>.</summary>
    public string UrlPath => Type == RepoType.Dataset ? "datasets/" + Id : Id;

    /// <summary>Whether <paramref name="id"/> is a valid Hub repository id.</summary>
    public static bool IsValidId(string? id) => id is not null && Validate(id) is null;

    /// <summary>
    /// huggingface_hub's <c>validate_repo_id</c>, ASCII only: one or two parts separated by '/', each of letters, digits,
    /// '-', '_' and '.', not starting or ending with '-' or '.', the name at most 96 characters; no "--" or "..",
    /// not ending with ".git". Returns why the id is invalid, or null.
    /// </summary>
    public static string? Validate(string? id)
    {
        if (string.IsNullOrEmpty(id)) return "a Hub repository id cannot be empty";
        if (id.Count(c => c == '/') > 1)
            return $"Repo id must be in the form 'repo_name' or 'namespace/repo_name': '{id}'";
        if (!RepoIdPattern().IsMatch(id))
            return $"Repo id must use alphanumeric chars or '-', '_', '.', '--' and '..' are forbidden, '-' and '.' cannot start or end the name, max length is 96: '{id}'";
        if (id.Contains("--", StringComparison.Ordinal) || id.Contains("..", StringComparison.Ordinal))
            return $"Cannot have -- or .. in repo_id: '{id}'";
        if (id.EndsWith(".git", StringComparison.Ordinal)) return $"Repo_id cannot end by '.git': '{id}'";
        return null;
    }

    /// <summary>HF's REPO_ID_REGEX with \w narrowed to ASCII: each part starts and ends with a letter, digit or '_'.</summary>
    [GeneratedRegex(@"^([A-Za-z0-9_]([A-Za-z0-9_.\-]*[A-Za-z0-9_])?/)?[A-Za-z0-9_]([A-Za-z0-9_.\-]{0,94}[A-Za-z0-9_])?$")]
    private static partial Regex RepoIdPattern();

    /// <summary>"model google-bert/bert-base-uncased" / "dataset nyu-mll/glue", for messages.</summary>
    public override string ToString() => $"{(Type == RepoType.Dataset ? "dataset" : "model")} {Id}";
}
