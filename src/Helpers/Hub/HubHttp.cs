using System.Net;
using System.Net.Http.Headers;
using System.Reflection;

namespace FineTuning.Hub;

/// <summary>
/// The HTTP side of the Hub client: one shared <see cref="HttpClient"/> that never follows redirects by itself, the
/// <c>Authorization</c> and <c>User-Agent</c> headers, retries with backoff, huggingface_hub's
/// <c>follow_relative_redirects</c> for the HEAD request, and <c>hf_raise_for_status</c>'s mapping of error answers to
/// exceptions. Nothing here writes the token anywhere but into the request header.
/// </summary>
internal sealed class HubHttp(HubSettings settings)
{
    static readonly HttpClient Client = new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,                       // redirects are followed by hand: relative ones for HEAD, the CDN's for GET
        AutomaticDecompression = DecompressionMethods.None,
        ConnectTimeout = TimeSpan.FromSeconds(10),
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
    })
    { Timeout = Timeout.InfiniteTimeSpan };             // each request gets its own timeout

    static readonly string UserAgent =
        $"finetuning-csharp/{typeof(HubHttp).Assembly.GetName().Version?.ToString(3) ?? "0"}; hf_hub/compatible; dotnet/{Environment.Version}";

    const int MaxRedirects = 10;

    public HubSettings Settings { get; } = settings;

    /// <summary><c>{endpoint}/{repo url path}/resolve/{revision}/{file}</c>, revision and file percent-encoded as
    /// huggingface_hub's <c>hf_hub_url</c> (the revision entirely, the file keeping its '/').</summary>
    public Uri ResolveUrl(HubRepo repo, string file, string revision) =>
        new($"{Settings.Endpoint}/{repo.UrlPath}/resolve/{Uri.EscapeDataString(revision)}/{string.Join('/', file.Split('/').Select(Uri.EscapeDataString))}");

    /// <summary>Whether <paramref name="url"/> is on the endpoint's own host: only such requests may carry the token.</summary>
    public bool IsEndpointHost(Uri url) =>
        Uri.TryCreate(Settings.Endpoint, UriKind.Absolute, out var endpoint)
        && string.Equals(url.Scheme, endpoint.Scheme, StringComparison.OrdinalIgnoreCase)
        && string.Equals(url.Authority, endpoint.Authority, StringComparison.OrdinalIgnoreCase);

    /// <summary>A request with our headers; the token only when <paramref name="withToken"/> and the address is the
    /// endpoint's (never the CDN a file redirects to: huggingface_hub drops the header there too).</summary>
    public HttpRequestMessage Request(HttpMethod method, Uri url, long rangeStart = 0, bool withToken = true)
    {
        var request = new HttpRequestMessage(method, url);
        request.Headers.TryAddWithoutValidation("User-Agent", UserAgent); // huggingface_hub's "name/version; hf_hub/…" form
        // HEAD: the size of the file itself, not of a compressed answer (huggingface_hub asks for identity too).
        request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("identity"));
        if (withToken && Settings.Token is { } token && IsEndpointHost(url))
        {
            // A header is ASCII: HttpClient would fail the send, and that read as "no connection". Say what it is,
            // naming the position only (the character is part of the secret).
            int bad = token.AsSpan().IndexOfAnyExceptInRange('!', '~');
            if (bad >= 0)
                throw new HubException($"the Hugging Face token (HF_TOKEN, HUGGING_FACE_HUB_TOKEN, the token file or HubSettings.Token) has a " +
                    $"character that is not printable ASCII at position {bad + 1} of {token.Length}, so it cannot be sent. Tokens are ASCII " +
                    "(hf_ and letters/digits): copy it again from your Hugging Face settings, without spaces or typographic quotes.");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        if (rangeStart > 0) request.Headers.Range = new RangeHeaderValue(rangeStart, null);
        return request;
    }

    /// <summary>
    /// Sends a request built by <paramref name="build"/>, retrying with <see cref="HubSettings.Backoff"/> up to
    /// <see cref="HubSettings.MaxRetries"/> times after a 429 or 5xx answer and — when <paramref name="retryNetworkErrors"/>
    /// — after a timeout or a broken connection (not after a refused one: nobody is there). The answer is returned
    /// after its headers, its body still to be read.
    /// </summary>
    /// <exception cref="HubUnreachableException">No answer: the connection failed or timed out (after the retries).</exception>
    public async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> build, TimeSpan timeout, bool retryNetworkErrors,
                                                    string what, CancellationToken cancellationToken)
    {
        for (int attempt = 0; ; attempt++)
        {
            using var request = build();
            using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timer.CancelAfter(timeout);
            HttpResponseMessage? response = null;
            Exception? failure = null;
            bool retryable;
            try
            {
                response = await Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timer.Token).ConfigureAwait(false);
                retryable = (int)response.StatusCode is 429 or >= 500 and <= 599;
                if (!retryable) return response;
            }
            catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                failure = new TimeoutException($"no answer from {HubSettings.Redact(request.RequestUri!.GetLeftPart(UriPartial.Authority))} within {timeout.TotalSeconds:0.###} s", e);
                retryable = retryNetworkErrors;
            }
            catch (HttpRequestException e)
            {
                failure = e;
                retryable = retryNetworkErrors && e.HttpRequestError is not (HttpRequestError.NameResolutionError
                    or HttpRequestError.ConnectionError or HttpRequestError.SecureConnectionError or HttpRequestError.ProxyTunnelError);
            }
            if (!retryable || attempt >= Settings.MaxRetries)
            {
                if (response is not null) return response;
                throw new HubUnreachableException(
                    $"{what}: could not reach {HubSettings.Redact(request.RequestUri!.GetLeftPart(UriPartial.Authority))} ({failure!.Message})", failure);
            }
            var reason = response is not null ? $"{(int)response.StatusCode} {response.ReasonPhrase}" : failure!.Message;
            response?.Dispose();
            var wait = Settings.Backoff(attempt);
            Logging.Warning($"{what}: {reason}; retrying in {wait.TotalSeconds:0.###} s [retry {attempt + 1}/{Settings.MaxRetries}]");
            await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// huggingface_hub's <c>get_hf_file_metadata</c>: HEAD on the resolve address, following relative redirects (a
    /// renamed repository: <c>bert-base-uncased</c> → <c>/google-bert/bert-base-uncased/…</c>) but not absolute ones
    /// (the CDN: its address is the download location).
    /// </summary>
    /// <exception cref="HubException">An error answer, mapped as <see cref="Raise"/> does.</exception>
    /// <exception cref="HubUnreachableException">No answer.</exception>
    public async Task<HubFileMetadata> GetMetadataAsync(HubRepo repo, string file, string revision, bool retryNetworkErrors,
                                                       CancellationToken cancellationToken)
    {
        var url = ResolveUrl(repo, file, revision);
        for (int redirects = 0; ; redirects++)
        {
            var current = url;
            using var response = await SendAsync(() => Request(HttpMethod.Head, current), Settings.EtagTimeout, retryNetworkErrors,
                                                 $"{file} of {repo}", cancellationToken).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            var location = response.Headers.Location;
            if (status is >= 300 and <= 399 && location is not null && !location.IsAbsoluteUri)
            {
                if (redirects >= MaxRedirects)
                    throw new HubException($"{file} of {repo}: more than {MaxRedirects} redirects from {Settings.DisplayEndpoint}", repo.Id, file, revision, response.StatusCode);
                url = new Uri(url, location);
                continue;
            }
            Raise(response, repo, file, revision);
            bool redirected = status is >= 300 and <= 399 && location is not null;
            return new HubFileMetadata(
                Header(response, "X-Repo-Commit"),
                HubFileMetadata.NormalizeEtag(Header(response, "X-Linked-Etag") ?? Header(response, "ETag")),
                redirected ? location! : url,
                long.TryParse(Header(response, "X-Linked-Size"), out var linked) ? linked : response.Content.Headers.ContentLength,
                redirected);
        }
    }

    /// <summary>
    /// GET, following redirects (a CDN may send the client on to a storage address): the token is sent only while the
    /// address is the endpoint's, and dropped for good once a redirect leaves it.
    /// </summary>
    public async Task<HttpResponseMessage> GetFollowingRedirectsAsync(Uri url, long rangeStart, bool withToken, string what,
                                                                      CancellationToken cancellationToken)
    {
        for (int redirects = 0; ; redirects++)
        {
            var current = url;
            var token = withToken;
            var response = await SendAsync(() => Request(HttpMethod.Get, current, rangeStart, token), Settings.DownloadTimeout,
                                           retryNetworkErrors: true, what, cancellationToken).ConfigureAwait(false);
            if ((int)response.StatusCode is not (>= 300 and <= 399) || response.Headers.Location is not { } location)
                return response;
            response.Dispose();
            if (redirects >= MaxRedirects) throw new HubException($"{what}: more than {MaxRedirects} redirects while downloading");
            url = new Uri(url, location);
            withToken = withToken && IsEndpointHost(url);
        }
    }

    static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values)
            ? values.FirstOrDefault()
            : null;

    /// <summary>
    /// huggingface_hub's <c>hf_raise_for_status</c>: nothing for a success or a redirect; otherwise the exception the
    /// answer means, from its <c>X-Error-Code</c> header (RepoNotFound, GatedRepo, RevisionNotFound, EntryNotFound) or
    /// status (401 → not found or private; 404 → no such file), with a message that says what to do.
    /// </summary>
    public void Raise(HttpResponseMessage response, HubRepo repo, string file, string revision)
    {
        var status = response.StatusCode;
        if ((int)status < 400) return;
        var code = Header(response, "X-Error-Code");
        var serverMessage = Header(response, "X-Error-Message") is { Length: > 0 } m ? $" The server says: {Shorten(m)}" : "";
        var commit = Header(response, "X-Repo-Commit");
        var endpoint = Settings.DisplayEndpoint;
        var authHint = Settings.Token is null
            ? "No token was sent: if the repository is private or gated, set HF_TOKEN (or run `huggingface-cli login`), or pass HubSettings { Token = … }."
            : "A token was sent; it does not give access to this repository.";

        HubException error = code switch
        {
            "RevisionNotFound" => new RevisionNotFoundException(
                $"{revision} is not a valid git identifier (branch name, tag name or commit id) that exists for {repo}. " +
                $"Check {endpoint}/{repo.UrlPath} for the available revisions.{serverMessage}", repo.Id, file, revision, status),
            "EntryNotFound" => new EntryNotFoundException(
                $"{repo.Id} does not appear to have a file named {file} (revision {revision}). " +
                $"Check {endpoint}/{repo.UrlPath}/tree/{Uri.EscapeDataString(revision)} for the available files.", repo.Id, file, revision, status),
            "GatedRepo" => new HubException(
                $"Access to {repo} is restricted ({(int)status}): you must be granted access on {endpoint}/{repo.UrlPath} and use a token " +
                $"of that account. {authHint}{serverMessage}", repo.Id, file, revision, status),
            "RepoNotFound" => NotFound(),
            _ when status == HttpStatusCode.Unauthorized => NotFound(),
            _ when status == HttpStatusCode.NotFound => new EntryNotFoundException(
                $"{repo.Id} does not appear to have a file named {file} (revision {revision}): {endpoint} answered 404 Not Found.", repo.Id, file, revision, status),
            _ when status == HttpStatusCode.Forbidden => new HubException(
                $"{endpoint} refused access to {file} of {repo} (403 Forbidden). {authHint}{serverMessage}", repo.Id, file, revision, status),
            // 429 and 5xx reach here only after SendAsync's retries.
            _ when (int)status is 429 or >= 500 => new HubException(
                $"{endpoint} answered {(int)status} {response.ReasonPhrase} for {file} of {repo} (revision {revision}), also after " +
                $"{Settings.MaxRetries} retries. The Hub (or a proxy) is failing or overloaded: try again later.{serverMessage}", repo.Id, file, revision, status),
            _ => new HubException(
                $"{endpoint} answered {(int)status} {response.ReasonPhrase} for {file} of {repo} (revision {revision}).{serverMessage}", repo.Id, file, revision, status),
        };
        error.ServerCommit = commit;
        throw error;

        HubException NotFound() => new RepositoryNotFoundException(
            $"{repo.Id} is not a local folder and is not a valid {(repo.Type == RepoType.Dataset ? "dataset" : "model")} identifier on {endpoint} " +
            $"({(int)status} {response.ReasonPhrase} for {file}). {authHint}{serverMessage}", repo.Id, file, revision, status);
    }

    static string Shorten(string text)
    {
        var clean = new string(text.Select(c => char.IsControl(c) ? ' ' : c).ToArray());
        return clean.Length > 300 ? clean[..300] + "…" : clean;
    }
}

/// <summary>No answer from the Hub: the connection failed or timed out. The caller falls back to the cache.</summary>
internal sealed class HubUnreachableException(string message, Exception inner) : HubException(message, inner);
