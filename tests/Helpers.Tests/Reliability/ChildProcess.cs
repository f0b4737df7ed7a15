using System.Collections.Concurrent;
using System.Diagnostics;

namespace FineTuning.Tests.Reliability;

/// <summary>
/// tools/Reliability run as a child process from this test's output folder (the test project references it, so its
/// dll, deps.json and runtimeconfig.json are copied here). Standard output is read line by line for
/// <see cref="WaitFor"/>; <see cref="Kill"/> is SIGKILL on Unix (TerminateProcess on Windows): no finally block, no
/// flush, no cleanup runs in the child.
/// </summary>
sealed class ChildProcess : IDisposable
{
    readonly Process process;
    readonly BlockingCollection<string> lines = new();
    readonly ConcurrentQueue<string> errors = new();

    public ChildProcess(IReadOnlyDictionary<string, string>? environment, params string[] arguments)
    {
        var dll = typeof(FineTuning.Reliability.CrashChild).Assembly.Location;
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        info.ArgumentList.Add("exec");
        info.ArgumentList.Add(dll);
        foreach (var a in arguments) info.ArgumentList.Add(a);
        // libgomp spin-waits by default; on 2 shared cores that makes a child 15-40x slower (README, Troubleshooting).
        info.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) info.Environment[k] = v;
        process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => { if (e.Data is null) lines.CompleteAdding(); else lines.Add(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) errors.Enqueue(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>The process id.</summary>
    public int Id => process.Id;

    /// <summary>Every line of standard output read so far, in order.</summary>
    public List<string> Output { get; } = [];

    /// <summary>Standard error so far (for failure messages).</summary>
    public string Errors => string.Join("\n", errors);

    /// <summary>Reads lines until one satisfies <paramref name="match"/> and returns it; fails when the child ends
    /// first or <paramref name="timeout"/> passes.</summary>
    public string WaitFor(Func<string, bool> match, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || !lines.TryTake(out var line, left))
            {
                var ended = lines.IsAddingCompleted;
                throw new Xunit.Sdk.XunitException(
                    $"the child {(ended ? "ended" : $"did not print it within {timeout.TotalSeconds:F0} s")} before {what}; "
                    + $"last output: {string.Join(" | ", Output.TakeLast(5))}; stderr: {Errors}");
            }
            Output.Add(line);
            if (match(line)) return line;
        }
    }

    /// <summary>SIGKILL, then waits until the process is gone.</summary>
    public void Kill()
    {
        process.Kill(entireProcessTree: false);
        process.WaitForExit();
    }

    /// <summary>Waits for a normal exit and returns the exit code.</summary>
    public int WaitForExit(TimeSpan timeout)
    {
        if (!process.WaitForExit(timeout))
        {
            process.Kill();
            throw new Xunit.Sdk.XunitException($"the child did not exit within {timeout.TotalSeconds:F0} s; stderr: {Errors}");
        }
        process.WaitForExit(); // drains the output events
        while (lines.TryTake(out var line)) Output.Add(line);
        return process.ExitCode;
    }

    public void Dispose()
    {
        try { if (!process.HasExited) process.Kill(); } catch (InvalidOperationException) { }
        process.Dispose();
    }
}
