using System.Net;

namespace FineTuning.Hub;

/// <summary>
/// A file could not be had from the Hub or its cache (huggingface_hub's <c>HfHubHTTPError</c> family). The message
/// names the repository, the file and the revision, and says what to do; it never contains the token. The subclasses
/// tell the cases apart as Python's error classes do.
/// </summary>
public class HubException : IOException
{
    public HubException(string message, Exception? inner = null) : base(message, inner) { }

    public HubException(string message, string? repoId, string? fileName, string? revision, HttpStatusCode? statusCode = null, Exception? inner = null)
        : base(message, inner)
    {
        RepoId = repoId;
        FileName = fileName;
        Revision = revision;
        StatusCode = statusCode;
    }

    /// <summary>The repository, when the error concerns one.</summary>
    public string? RepoId { get; }

    /// <summary>The file in the repository, when the error concerns one.</summary>
    public string? FileName { get; }

    /// <summary>The revision asked for.</summary>
    public string? Revision { get; }

    /// <summary>The HTTP status the server answered, when it answered.</summary>
    public HttpStatusCode? StatusCode { get; }

    /// <summary>The commit the server named in its answer (X-Repo-Commit), for the <c>.no_exist</c> marker.</summary>
    internal string? ServerCommit { get; set; }
}

/// <summary>The repository does not exist, or it is private or gated and the token (if any) gives no access
/// (huggingface_hub's <c>RepositoryNotFoundError</c>: the Hub answers 401 for both).</summary>
public sealed class RepositoryNotFoundException(string message, string repoId, string? fileName, string? revision, HttpStatusCode? statusCode)
    : HubException(message, repoId, fileName, revision, statusCode);

/// <summary>The repository has no such branch, tag or commit (<c>RevisionNotFoundError</c>).</summary>
public sealed class RevisionNotFoundException(string message, string repoId, string? fileName, string revision, HttpStatusCode? statusCode)
    : HubException(message, repoId, fileName, revision, statusCode);

/// <summary>The repository exists but has no such file at that revision (<c>EntryNotFoundError</c>).</summary>
public class EntryNotFoundException(string message, string repoId, string fileName, string? revision, HttpStatusCode? statusCode,
    Exception? inner = null)
    : HubException(message, repoId, fileName, revision, statusCode, inner);

/// <summary>The file is not in the cache and the Hub may not (offline mode) or could not (no connection) be asked
/// (<c>LocalEntryNotFoundError</c>). <see cref="Exception.InnerException"/> is the network error, when there was one.</summary>
public sealed class LocalEntryNotFoundException(string message, string repoId, string fileName, string? revision, Exception? inner = null)
    : EntryNotFoundException(message, repoId, fileName, revision, null, inner);
