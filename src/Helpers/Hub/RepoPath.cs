namespace FineTuning.Hub;

/// <summary>
/// Checks the names that become paths in the cache — file names in a repository (asked for, or listed by the server
/// in a shard index), revisions, and the commit hashes and ETags the server sends — so that a hostile or broken
/// server cannot make us write outside the cache folder.
/// </summary>
internal static class RepoPath
{
    /// <summary>
    /// A file path inside a repository, '/'-separated as on the Hub: refused when empty, absolute ('/…'), with a
    /// backslash, a drive letter or any ':', an empty, "." or ".." segment, or a control character. Returns the
    /// segments.
    /// </summary>
    /// <param name="name">the name to check.</param>
    /// <param name="what">what the name is, for the message ("file name", "shard name in model.safetensors.index.json").</param>
    /// <exception cref="HubException">The name is unsafe; the message quotes it and says why.</exception>
    public static string[] Segments(string name, string what)
    {
        if (Problem(name) is { } problem)
            throw new HubException($"refused {what} '{Printable(name)}': {problem}");
        return name.Split('/');
    }

    /// <summary>Why <paramref name="name"/> is not a safe relative repository path, or null when it is.</summary>
    public static string? Problem(string? name)
    {
        if (string.IsNullOrEmpty(name)) return "it is empty";
        if (name.Any(char.IsControl)) return "it contains a control character";
        if (name.Contains('\\')) return "it contains a backslash";
        if (name.Contains(':')) return "it contains ':' (a drive letter or a stream name)";
        if (name.StartsWith('/')) return "it is an absolute path";
        foreach (var segment in name.Split('/'))
        {
            if (segment.Length == 0) return "it has an empty path segment";
            if (segment is "." or "..") return $"it has a '{segment}' path segment";
        }
        return null;
    }

    /// <summary>
    /// A single name the server sends that becomes one path segment (a commit hash → a snapshot folder, an ETag → a
    /// blob file): letters, digits, '-', '_' and '.', not starting with '.', at most 128 characters.
    /// </summary>
    /// <exception cref="HubException">It is not such a name.</exception>
    public static string Token(string value, string what)
    {
        bool ok = value.Length is > 0 and <= 128 && value[0] != '.'
                  && value.All(c => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '-' or '_' or '.');
        if (!ok) throw new HubException($"the server sent an unusable {what} '{Printable(value)}' (expected letters, digits, '-', '_' or '.')");
        return value;
    }

    /// <summary>huggingface_hub's <c>REGEX_COMMIT_HASH</c>: 40 lowercase hexadecimal digits.</summary>
    public static bool IsCommitHash(string? revision) =>
        revision is { Length: 40 } && revision.All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f'));

    /// <summary>A 64-hex-digit ETag: an LFS file's sha256.</summary>
    public static bool IsSha256(string? etag) =>
        etag is { Length: 64 } && etag.All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f'));

    /// <summary>The name with control characters shown as \uXXXX, at most 200 characters, for messages.</summary>
    static string Printable(string name)
    {
        var text = string.Concat(name.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));
        return text.Length > 200 ? text[..200] + "…" : text;
    }
}
