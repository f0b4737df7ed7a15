using System.Text.Json.Nodes;

namespace FineTuning.NotebookRunner;

/// <summary>
/// The .NET Interactive kernel the runner drives: the <c>Microsoft.dotnet-interactive</c> dotnet tool pinned in the
/// repository's local tool manifest (<c>.config/dotnet-tools.json</c>), the kernel VS Code's Polyglot Notebooks runs.
/// </summary>
/// <param name="ManifestPath">The tool manifest.</param>
/// <param name="Version">The pinned version, e.g. 1.0.712001.</param>
/// <param name="PackageFolder">Where <c>dotnet tool restore</c> puts it (the NuGet packages folder).</param>
public sealed record KernelTool(string ManifestPath, string Version, string PackageFolder)
{
    /// <summary>The tool's package id, as the manifest spells it.</summary>
    public const string PackageId = "microsoft.dotnet-interactive";

    /// <summary>The folder holding <c>.config/</c>.</summary>
    public string RepositoryRoot => Path.GetDirectoryName(Path.GetDirectoryName(ManifestPath)!)!;

    /// <summary>Whether <c>dotnet tool restore</c> has put the pinned version into the NuGet packages folder.</summary>
    public bool IsRestored => EntryPoint is not null;

    /// <summary>
    /// The tool's entry assembly, from the package's DotnetToolSettings.xml (what <c>dotnet dotnet-interactive</c> runs).
    /// The runner starts it itself, as one process, so that stopping it after a timeout leaves no orphaned kernel
    /// (the <c>dotnet dotnet-interactive</c> launcher runs the kernel as a child process). Null when not restored.
    /// </summary>
    public string? EntryPoint
    {
        get
        {
            var tools = Path.Combine(PackageFolder, "tools");
            if (!Directory.Exists(tools)) return null;
            foreach (var settings in Directory.EnumerateFiles(tools, "DotnetToolSettings.xml", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                try
                {
                    var entry = System.Xml.Linq.XDocument.Load(settings).Descendants("Command")
                        .FirstOrDefault(c => (string?)c.Attribute("Name") == "dotnet-interactive")?.Attribute("EntryPoint")?.Value;
                    var path = entry is null ? null : Path.Combine(Path.GetDirectoryName(settings)!, entry);
                    if (path is not null && File.Exists(path)) return path;
                }
                catch (System.Xml.XmlException) { }
            }
            return null;
        }
    }

    /// <summary>
    /// Runs <c>dotnet tool restore</c> in the repository (the ecosystem's way to install a local tool: NuGet, once per
    /// machine), so that the Quick start needs no separate step. Its output goes to <paramref name="log"/>.
    /// </summary>
    /// <returns>Whether the pinned version is restored afterwards.</returns>
    public bool Restore(TextWriter log)
    {
        log.WriteLine($".NET Interactive {Version} is not restored on this machine yet: running `dotnet tool restore` in {RepositoryRoot} (once)");
        var start = new System.Diagnostics.ProcessStartInfo("dotnet", "tool restore")
        {
            WorkingDirectory = RepositoryRoot, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        using var process = System.Diagnostics.Process.Start(start);
        if (process is null) return false;
        var stderr = process.StandardError.ReadToEndAsync();
        log.Write(process.StandardOutput.ReadToEnd());
        process.WaitForExit();
        log.Write(stderr.Result);
        return process.ExitCode == 0 && IsRestored;
    }

    /// <summary>What to tell a user whose tool is not restored.</summary>
    public string NotRestoredMessage =>
        $".NET Interactive {Version} (the kernel VS Code runs, pinned in {ManifestPath}) is not restored on this machine " +
        $"(no {PackageFolder}), and `dotnet tool restore` did not restore it (see its output above). Run it in {RepositoryRoot} to retry.";

    /// <summary>
    /// Finds the manifest in <paramref name="start"/> or a folder above it (as <c>dotnet tool run</c> does), else
    /// above the runner's own folder. Throws <see cref="KernelToolException"/> naming the file when it is missing or
    /// does not pin the tool.
    /// </summary>
    public static KernelTool Find(string? start = null)
    {
        string? manifest = null;
        foreach (var origin in new[] { start ?? Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(Path.GetFullPath(origin)); dir is not null && manifest is null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, ".config", "dotnet-tools.json");
                if (File.Exists(candidate)) manifest = candidate;
            }
            if (manifest is not null) break;
        }
        if (manifest is null)
            throw new KernelToolException($"no .config/dotnet-tools.json above {Path.GetFullPath(start ?? Environment.CurrentDirectory)}: " +
                                          "run the runner from the repository (it pins the .NET Interactive kernel there)");
        string? version;
        try
        {
            version = (string?)JsonNode.Parse(File.ReadAllText(manifest))?["tools"]?[PackageId]?["version"];
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new KernelToolException($"{manifest}: not valid JSON (line {e.LineNumber + 1}): {e.Message}");
        }
        if (string.IsNullOrWhiteSpace(version))
            throw new KernelToolException($"{manifest}: tools.\"{PackageId}\".version is missing (the kernel the lessons run in)");
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } custom
            ? custom
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        return new KernelTool(manifest, version, Path.Combine(packages, PackageId, version.ToLowerInvariant()));
    }
}

/// <summary>The kernel cannot be started: the message says why and what to run.</summary>
public sealed class KernelToolException(string message) : Exception(message);
