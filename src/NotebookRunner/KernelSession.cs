using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FineTuning.NotebookRunner;

/// <summary>One event of the kernel (an event envelope's <c>eventType</c>, <c>event</c> and its command's token).</summary>
public sealed record KernelEvent(string Type, JsonObject Body, string? Token);

/// <summary>How a submission ended.</summary>
/// <param name="Succeeded">CommandSucceeded.</param>
/// <param name="Message">CommandFailed's message, or why the runner gave up (timeout, kernel exit).</param>
/// <param name="KernelLost">True when the kernel process is gone (exited or killed after a timeout).</param>
public sealed record SubmissionResult(bool Succeeded, string? Message, bool KernelLost = false);

/// <summary>
/// A <c>dotnet interactive</c> kernel process driven over stdio as VS Code drives it: the pinned tool's entry point
/// started with <c>[vscode] stdio --working-dir &lt;notebook folder&gt;</c>, one JSON command envelope per line in
/// (<c>{"token", "commandType": "SubmitCode", "command": {"code", "targetKernelName"}}</c>), one JSON event envelope
/// per line out (<c>{"eventType", "event", "command": {"token", ...}}</c>). Events of a submission carry its token, or
/// the token with a ".n" suffix for the commands the kernel split it into.
/// </summary>
public sealed class KernelSession : IAsyncDisposable
{
    const int StderrLinesKept = 120;   // a native abort prints its reason, then a stack trace of some 60 lines

    readonly Process process;
    readonly TaskCompletionSource ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    readonly ConcurrentDictionary<string, Submission> submissions = new(StringComparer.Ordinal);
    readonly Queue<string> stderrTail = new();
    readonly Task stdoutPump, stderrPump;
    int nextToken;

    sealed class Submission(Action<KernelEvent> onEvent)
    {
        public Action<KernelEvent> OnEvent { get; } = onEvent;
        public TaskCompletionSource<SubmissionResult> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    KernelSession(Process process)
    {
        this.process = process;
        stdoutPump = Task.Run(ReadEventsAsync);
        stderrPump = Task.Run(ReadStderrAsync);
    }

    /// <summary>The command line, for messages.</summary>
    public string CommandLine { get; private init; } = "";

    /// <summary>The last lines the kernel wrote to stderr (a native abort's message, for instance).</summary>
    public string StderrTail
    {
        get { lock (stderrTail) return string.Join("\n", stderrTail); }
    }

    /// <summary>Starts the kernel with <paramref name="workingDirectory"/> as its current folder and waits for its
    /// KernelReady event.</summary>
    /// <exception cref="KernelToolException">the tool is not restored, or the kernel did not start (with its output).</exception>
    public static async Task<KernelSession> StartAsync(KernelTool tool, string workingDirectory, TimeSpan startTimeout)
    {
        if (tool.EntryPoint is not { } entryPoint) throw new KernelToolException(tool.NotRestoredMessage);
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetFullPath(workingDirectory),
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            UseShellExecute = false,
        };
        // What `dotnet dotnet-interactive [vscode] stdio ...` runs, without the launcher process in between.
        string[] arguments = [entryPoint, "[vscode]", "stdio", "--working-dir", Path.GetFullPath(workingDirectory)];
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        var process = Process.Start(start) ?? throw new KernelToolException("could not start `dotnet` (is the .NET SDK on PATH?)");
        var session = new KernelSession(process) { CommandLine = "dotnet " + string.Join(" ", arguments) };
        var finished = await Task.WhenAny(session.ready.Task, Task.Delay(startTimeout));
        if (finished != session.ready.Task || !session.ready.Task.IsCompletedSuccessfully)
        {
            var exited = process.HasExited;
            await session.DisposeAsync();
            throw new KernelToolException(
                (exited ? $"the kernel exited before it was ready ({session.CommandLine})"
                        : $"the kernel was not ready after {startTimeout.TotalSeconds:F0} s ({session.CommandLine})")
                + (session.StderrTail is { Length: > 0 } tail ? $":\n{tail}" : ""));
        }
        return session;
    }

    /// <summary>
    /// Sends <paramref name="code"/> as a SubmitCode command for the kernel <paramref name="kernelName"/> (csharp, fsharp,
    /// pwsh, ...) and waits for CommandSucceeded or CommandFailed. Every event of the submission, also one that comes
    /// after it ended (a display updated from a background thread), goes to <paramref name="onEvent"/>, on the thread
    /// that reads the kernel's output. After <paramref name="timeout"/> the kernel is killed (it cannot be trusted to
    /// stop a runaway cell) and the result says so.
    /// </summary>
    public async Task<SubmissionResult> SubmitAsync(string code, string kernelName, Action<KernelEvent> onEvent, TimeSpan timeout)
    {
        var token = $"runner-{Interlocked.Increment(ref nextToken)}";
        var submission = new Submission(onEvent);
        submissions[token] = submission;
        var envelope = new JsonObject
        {
            ["token"] = token,
            ["commandType"] = "SubmitCode",
            ["command"] = new JsonObject { ["code"] = code, ["targetKernelName"] = kernelName },
        };
        try
        {
            await process.StandardInput.WriteLineAsync(envelope.ToJsonString());
            await process.StandardInput.FlushAsync();
        }
        catch (IOException)
        {
            return Lost();
        }
        using var timer = new CancellationTokenSource();
        var finished = await Task.WhenAny(submission.Done.Task, Task.Delay(timeout, timer.Token));
        timer.Cancel();
        if (finished == submission.Done.Task) return submission.Done.Task.Result;
        Kill();
        return new SubmissionResult(false, $"the cell did not finish in {timeout.TotalSeconds:F0} s (--cell-timeout); the kernel was stopped", KernelLost: true);
    }

    SubmissionResult Lost() => new(false, ExitMessage(), KernelLost: true);

    string ExitMessage()
    {
        var code = process.HasExited ? $" with code {process.ExitCode}" : "";
        return $"the kernel process exited{code} while running this cell" + (StderrTail is { Length: > 0 } tail ? $"; its last output:\n{tail}" : "");
    }

    async Task ReadEventsAsync()
    {
        try
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                // The first-run banner (telemetry notice) is plain text on stdout; events are JSON objects.
                if (!line.StartsWith('{')) continue;
                JsonObject envelope;
                try
                {
                    envelope = JsonNode.Parse(line) as JsonObject ?? throw new JsonException("not an object");
                }
                catch (JsonException)
                {
                    continue;
                }
                Dispatch(envelope);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
        }
        // stdout closed: the kernel is gone. Wait for stderr so the message has the kernel's last words.
        try { await stderrPump.WaitAsync(TimeSpan.FromSeconds(5)); } catch (Exception) { }
        try { process.WaitForExit(5000); } catch (Exception) { }
        ready.TrySetException(new KernelToolException("the kernel exited"));
        foreach (var submission in submissions.Values)
            submission.Done.TrySetResult(Lost());
    }

    void Dispatch(JsonObject envelope)
    {
        var type = (string?)envelope["eventType"];
        if (type is null || envelope["event"] is not JsonObject body) return;
        if (type == "KernelReady")
        {
            ready.TrySetResult();
            return;
        }
        var token = (string?)envelope["command"]?["token"];
        if (token is null) return;
        var dot = token.IndexOf('.');
        var root = dot < 0 ? token : token[..dot];
        if (!submissions.TryGetValue(root, out var submission)) return;
        try
        {
            submission.OnEvent(new KernelEvent(type, body, token));
        }
        catch (Exception e)
        {
            // A bug in a handler must not stop the reader (every later cell would hang until its timeout).
            submission.Done.TrySetResult(new SubmissionResult(false, $"the runner could not record a {type} event: {e}"));
        }
        // Only the root command's end is the submission's end (split commands succeed on their own).
        if (token == root && type is "CommandSucceeded" or "CommandFailed")
            submission.Done.TrySetResult(type == "CommandSucceeded"
                ? new SubmissionResult(true, null)
                : new SubmissionResult(false, (string?)body["message"] ?? "the command failed"));
    }

    async Task ReadStderrAsync()
    {
        try
        {
            while (await process.StandardError.ReadLineAsync() is { } line)
            {
                lock (stderrTail)
                {
                    stderrTail.Enqueue(line);
                    if (stderrTail.Count > StderrLinesKept) stderrTail.Dequeue();
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
        }
    }

    void Kill()
    {
        try { if (!process.HasExited) process.Kill(entireProcessTree: true); } catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception) { }
    }

    /// <summary>Asks the kernel to quit, then stops it if it has not after a few seconds.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!process.HasExited)
            {
                await process.StandardInput.WriteLineAsync("""{"token":"runner-quit","commandType":"Quit","command":{}}""");
                process.StandardInput.Close();
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
        }
        try
        {
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
        }
        Kill();
        try { await Task.WhenAll(stdoutPump, stderrPump).WaitAsync(TimeSpan.FromSeconds(5)); } catch (Exception) { }
        process.Dispose();
    }
}
