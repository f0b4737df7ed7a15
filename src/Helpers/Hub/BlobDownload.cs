using System.Net;
using System.Security.Cryptography;

namespace FineTuning.Hub;

/// <summary>
/// huggingface_hub's <c>_download_to_tmp_and_move</c> and <c>http_get</c>: GETs a file into
/// <c>blobs/{etag}.incomplete</c>, resuming what is already there with an HTTP Range request (also after the connection
/// drops mid-file, or after a crash), checks its size and — for an LFS file — its sha256, and only then renames it to
/// <c>blobs/{etag}</c>. A file that fails the checks is deleted: the cache never holds a wrong blob. The caller holds
/// the blob's lock.
/// </summary>
internal static class BlobDownload
{
    const int BufferSize = 1 << 18;
    static readonly TimeSpan ReportInterval = TimeSpan.FromMilliseconds(100);

    /// <param name="http">the client (settings: retries, backoff, timeouts, progress).</param>
    /// <param name="url">where to GET the file (the CDN address, or the resolve address).</param>
    /// <param name="withToken">whether the GET carries the token (not when it goes to the CDN).</param>
    /// <param name="destination">the blob path; <c>.incomplete</c> is appended for the partial file.</param>
    /// <param name="expectedSize">the size the metadata gave, checked at the end; null when unknown.</param>
    /// <param name="expectedSha256">the sha256 (an LFS ETag), checked at the end; null for non-LFS files.</param>
    /// <param name="repo">for messages and progress.</param>
    /// <param name="file">for messages and progress.</param>
    /// <param name="revision">for messages.</param>
    /// <param name="cancellationToken">stops the download (the partial file is kept for a later resume).</param>
    public static async Task RunAsync(HubHttp http, Uri url, bool withToken, string destination, long? expectedSize, string? expectedSha256,
                                      HubRepo repo, string file, string revision, CancellationToken cancellationToken)
    {
        var settings = http.Settings;
        var incomplete = destination + ".incomplete";
        var what = $"{file} of {repo}";
        int failures = 0;
        // The most bytes the partial file has held: only growing past it counts as progress. A server whose file is
        // shorter than X-Linked-Size answers the resume with 416, the partial file is dropped and the whole file comes
        // again — that is no progress, and must not reset the retry count (it used to: an endless download).
        long highWater = File.Exists(incomplete) ? new FileInfo(incomplete).Length : 0;
        while (true)
        {
            long resume = File.Exists(incomplete) ? new FileInfo(incomplete).Length : 0;
            if (expectedSize is { } size && resume > size)
            {
                // Longer than the file: not a prefix of it. Start over.
                File.Delete(incomplete);
                resume = 0;
            }
            if (expectedSize is { } complete && resume == complete && resume > 0) break; // an earlier run got it all
            try
            {
                await GetAsync(http, url, withToken, incomplete, resume, expectedSize, repo, file, revision, cancellationToken).ConfigureAwait(false);
                break;
            }
            catch (Exception e) when (IsTransient(e) && !cancellationToken.IsCancellationRequested)
            {
                long now = File.Exists(incomplete) ? new FileInfo(incomplete).Length : 0;
                if (now > highWater)
                {
                    highWater = now;
                    failures = 0; // new bytes: the retry budget is for stalls, not for long files
                }
                if (++failures > settings.MaxRetries)
                    throw new HubException(
                        $"downloading {what} failed {failures} times in a row without getting past byte {highWater} ({e.Message}); the {now} bytes " +
                        $"received are kept in {incomplete} and the next attempt resumes from there", repo.Id, file, revision, null, e);
                var wait = settings.Backoff(failures - 1);
                Logging.Warning($"Error while downloading {what}: {e.Message}. Resuming from byte {now} in {wait.TotalSeconds:0.###} s " +
                                $"[retry {failures}/{settings.MaxRetries}]");
                await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
            }
        }
        Verify(incomplete, expectedSize, expectedSha256, what);
        File.Move(incomplete, destination, overwrite: true);
    }

    /// <summary>A dropped connection, a read that timed out, or a request that found no server: worth a resumed retry.</summary>
    static bool IsTransient(Exception e) => e is IOException and not HubException || e is TimeoutException || e is HubUnreachableException
                                            || e is HttpRequestException;

    static async Task GetAsync(HubHttp http, Uri url, bool withToken, string incomplete, long resume, long? expectedSize, HubRepo repo, string file,
                               string revision, CancellationToken cancellationToken)
    {
        var settings = http.Settings;
        using var response = await http.GetFollowingRedirectsAsync(url, resume, withToken, $"{file} of {repo}", cancellationToken)
                                       .ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            // S3 and CloudFront answer a resume at the end of their file with 416 and "Content-Range: bytes */{size}". When
            // that size is what we already have, the server's file is complete and shorter than the Hub said: downloading
            // it again cannot help (it used to, endlessly). Otherwise our partial file does not fit the server's: drop it.
            File.Delete(incomplete);
            if (response.Content.Headers.ContentRange is { HasRange: false, Length: { } serverSize } && serverSize == resume
                && expectedSize is { } claimed && claimed != serverSize)
                throw new HubException(
                    $"Consistency check failed: {file} of {repo} should be of size {claimed} (the Hub's X-Linked-Size) but the server's file " +
                    $"has size {serverSize} (it refused to send bytes past it: 416 Range Not Satisfiable). Nothing was kept in the cache; " +
                    "retry later, and if it persists the Hub's metadata and its storage disagree (or a proxy truncates the file).",
                    repo.Id, file, revision, response.StatusCode);
            throw new IOException($"the server refused to resume at byte {resume} (416)");
        }
        http.Raise(response, repo, file, revision);
        bool partial = response.StatusCode == HttpStatusCode.PartialContent;
        if (partial && response.Content.Headers.ContentRange is { From: { } from } && from != resume)
            throw new HubException($"{file} of {repo}: asked to resume at byte {resume}, the server sent bytes from {from}", repo.Id, file, null, response.StatusCode);
        if (!partial) resume = 0; // the server ignored the Range header: the whole file comes again
        long? total = expectedSize ?? (response.Content.Headers.ContentLength is { } length ? resume + length : null);

        var time = settings.TimeProvider;
        var started = time.GetTimestamp();
        long lastReport = started;
        long done = resume;
        // The overall stall limit: at least MinStallBytes in every DownloadStallTimeout window.
        long windowStart = started, windowBytes = 0;
        DownloadProgress Progress(bool complete) => new()
        {
            FileName = file, RepoId = repo.Id, BytesDownloaded = done, TotalBytes = total, ResumedFrom = resume,
            Elapsed = time.GetElapsedTime(started), IsComplete = complete,
        };
        if (resume > 0) Logging.Info($"resuming the download of {file} of {repo} at byte {resume}");
        settings.Progress?.Report(Progress(false));

        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        using (var output = new FileStream(incomplete, FileMode.OpenOrCreate, FileAccess.Write, FileShare.None, BufferSize))
        {
            output.SetLength(resume);
            output.Seek(resume, SeekOrigin.Begin);
            var buffer = new byte[BufferSize];
            while (true)
            {
                int n;
                using (var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                {
                    timer.CancelAfter(settings.DownloadTimeout);
                    try
                    {
                        n = await stream.ReadAsync(buffer, timer.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
                    {
                        output.Flush(flushToDisk: true);
                        throw new TimeoutException($"no data for {settings.DownloadTimeout.TotalSeconds:0.###} s", e);
                    }
                    catch (IOException)
                    {
                        output.Flush(flushToDisk: true); // keep what arrived: the retry resumes after it
                        throw;
                    }
                }
                if (n == 0) break;
                output.Write(buffer, 0, n);
                done += n;
                windowBytes += n;
                var now = time.GetTimestamp();
                if (time.GetElapsedTime(windowStart, now) >= settings.DownloadStallTimeout)
                {
                    if (windowBytes < settings.MinStallBytes)
                    {
                        output.Flush(flushToDisk: true);
                        throw new HubException(
                            $"downloading {file} of {repo} stalled: the server sent only {windowBytes} bytes in the last " +
                            $"{time.GetElapsedTime(windowStart, now).TotalSeconds:0.#} s (less than {settings.MinStallBytes} bytes per " +
                            $"{settings.DownloadStallTimeout.TotalSeconds:0.###} s), so it is reachable but too slow. The {done} bytes received are kept in " +
                            $"{incomplete} and the next attempt resumes from there; retry later, or raise HubSettings.DownloadStallTimeout " +
                            "for a very slow connection.", repo.Id, file, revision);
                    }
                    windowStart = now;
                    windowBytes = 0;
                }
                if (time.GetElapsedTime(lastReport, now) >= ReportInterval)
                {
                    lastReport = now;
                    settings.Progress?.Report(Progress(false));
                }
            }
            output.Flush(flushToDisk: true);
        }
        if (total is { } t && done < t)
            throw new IOException($"the connection closed after {done} of {t} bytes");
        settings.Progress?.Report(Progress(true));
    }

    /// <summary>Size, then sha256 for LFS files; on a mismatch the file is deleted and the error says what was expected.</summary>
    static void Verify(string incomplete, long? expectedSize, string? expectedSha256, string what)
    {
        long actual = new FileInfo(incomplete).Length;
        if (expectedSize is { } size && actual != size)
        {
            File.Delete(incomplete);
            throw new HubException($"Consistency check failed: {what} should be of size {size} but has size {actual}. Nothing was " +
                                   "kept in the cache; retry, and if it persists the server or a proxy is corrupting the file.");
        }
        if (expectedSha256 is null) return;
        string sha;
        using (var stream = new FileStream(incomplete, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize))
            sha = Convert.ToHexStringLower(SHA256.HashData(stream));
        if (sha != expectedSha256)
        {
            File.Delete(incomplete);
            throw new HubException($"Consistency check failed: the sha256 of {what} is {sha}, but the Hub says {expectedSha256}. " +
                                   "Nothing was kept in the cache; retry, and if it persists the server or a proxy is corrupting the file.");
        }
    }
}
