namespace FineTuning.Hub;

/// <summary>
/// huggingface_hub's <c>HfFileMetadata</c>: what the HEAD request on <c>{endpoint}/{repo}/resolve/{revision}/{file}</c>
/// says of a file.
/// </summary>
/// <param name="CommitHash">the commit the revision points to (<c>X-Repo-Commit</c>).</param>
/// <param name="Etag">the file's id, quotes removed: <c>X-Linked-Etag</c> (an LFS file's sha256) or else <c>ETag</c>
/// (a git blob sha1).</param>
/// <param name="Location">where to GET it: the CDN address a 302 points to, or the resolve address itself.</param>
/// <param name="Size">its size in bytes (<c>X-Linked-Size</c>, else <c>Content-Length</c>), when given.</param>
/// <param name="Redirected">the file is served elsewhere (an LFS file on the CDN): its GET carries no token.</param>
internal sealed record HubFileMetadata(string? CommitHash, string? Etag, Uri Location, long? Size, bool Redirected)
{
    /// <summary>An LFS file: its ETag is its sha256, which the download is checked against.</summary>
    public bool IsLfs => RepoPath.IsSha256(Etag);

    /// <summary>huggingface_hub's <c>_normalize_etag</c>: <c>W/"abc"</c> and <c>"abc"</c> → <c>abc</c>.</summary>
    public static string? NormalizeEtag(string? etag)
    {
        if (etag is null) return null;
        var e = etag.Trim();
        if (e.StartsWith("W/", StringComparison.Ordinal)) e = e[2..];
        return e.Trim('"');
    }
}
