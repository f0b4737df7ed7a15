using System.Text.Json;

namespace FineTuning.NotebookRunner;

/// <summary>
/// The packages and assemblies the runner carries (read from its own <c>.deps.json</c>), which is what
/// <c>#r "nuget: Package, version"</c> resolves to: the runner downloads nothing. A package it does not carry, or a
/// version other than the one it carries, is an error that says so.
/// </summary>
/// <remarks>
/// Some names stand for what the runner does itself: <c>TorchSharp-cpu</c> and <c>TorchSharp-cuda-linux</c> (the
/// kernel's TorchSharp with its native libtorch) are the runner's TorchSharp on its CPU libtorch.
/// </remarks>
public sealed class PackageCatalog
{
    /// <summary>A package the runner carries: its version, dependencies and the file names of its assemblies.</summary>
    public sealed record Package(string Name, string Version, IReadOnlyList<string> Dependencies, IReadOnlyList<string> AssemblyFiles, bool IsProject);

    /// <summary>Package names that stand for something the runner carries under another name (target, why).</summary>
    static readonly Dictionary<string, (string? Target, string Note)> Aliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["TorchSharp-cpu"] = ("TorchSharp", "TorchSharp on the runner's CPU libtorch"),
        ["TorchSharp-cuda-linux"] = ("TorchSharp", "the runner has no CUDA: TorchSharp on its CPU libtorch"),
        ["TorchSharp-cuda-windows"] = ("TorchSharp", "the runner has no CUDA: TorchSharp on its CPU libtorch"),
    };

    /// <summary>The package whose version an alias with no package of its own must match.</summary>
    static readonly Dictionary<string, string> AliasVersionOf = new(StringComparer.OrdinalIgnoreCase)
    {
    };

    readonly Dictionary<string, Package> packages;
    readonly Dictionary<string, string> assemblyPaths;   // file name → full path, from the runtime's trusted list

    PackageCatalog(Dictionary<string, Package> packages, Dictionary<string, string> assemblyPaths, IReadOnlyList<string> frameworkAssemblies)
    {
        this.packages = packages;
        this.assemblyPaths = assemblyPaths;
        FrameworkAssemblies = frameworkAssemblies;
    }

    /// <summary>The .NET runtime's own assemblies (every submission can use them).</summary>
    public IReadOnlyList<string> FrameworkAssemblies { get; }

    /// <summary>The packages carried, by name.</summary>
    public IReadOnlyCollection<Package> Packages => packages.Values;

    /// <summary>Reads the running application's deps.json and trusted assembly list.</summary>
    public static PackageCatalog ForCurrentProcess()
    {
        var tpa = ((AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") as string) ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        var paths = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var path in tpa) paths.TryAdd(Path.GetFileName(path), path);
        var runtimeDirectory = Path.GetFullPath(System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory());
        var framework = tpa.Where(p => Path.GetFullPath(p).StartsWith(runtimeDirectory, StringComparison.Ordinal)).ToList();

        // The application's deps.json: the runner's own, or a host's that includes the runner (a test host).
        var candidates = ((AppContext.GetData("APP_CONTEXT_DEPS_FILES") as string) ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(p => Path.IsPathRooted(p) ? p : Path.Combine(AppContext.BaseDirectory, p))
            .Concat(Directory.GetFiles(AppContext.BaseDirectory, "*.deps.json").Order(StringComparer.Ordinal));
        var runnerLibrary = $"\"{typeof(PackageCatalog).Assembly.GetName().Name}/";
        var depsFile = candidates.FirstOrDefault(p => File.Exists(p) && File.ReadAllText(p).Contains(runnerLibrary, StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"The runner cannot find its .deps.json (which lists the packages it carries) in {AppContext.BaseDirectory}.");
        return new PackageCatalog(ReadDeps(depsFile), paths, framework);
    }

    static Dictionary<string, Package> ReadDeps(string depsFile)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(depsFile));
        var root = document.RootElement;
        var targetName = root.GetProperty("runtimeTarget").GetProperty("name").GetString()!;
        var target = root.GetProperty("targets").GetProperty(targetName);
        var result = new Dictionary<string, Package>(StringComparer.OrdinalIgnoreCase);
        foreach (var library in target.EnumerateObject())
        {
            var slash = library.Name.IndexOf('/');
            var (name, version) = (library.Name[..slash], library.Name[(slash + 1)..]);
            var dependencies = library.Value.TryGetProperty("dependencies", out var deps)
                ? deps.EnumerateObject().Select(d => d.Name).ToList() : [];
            var files = library.Value.TryGetProperty("runtime", out var runtime)
                ? runtime.EnumerateObject().Select(r => Path.GetFileName(r.Name)).Where(f => f.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)).ToList() : [];
            var isProject = root.GetProperty("libraries").TryGetProperty(library.Name, out var info)
                && info.TryGetProperty("type", out var type) && type.GetString() == "project";
            result[name] = new Package(name, version, dependencies, files, isProject);
        }
        return result;
    }

    /// <summary>
    /// The assemblies <c>#r "nuget: <paramref name="name"/>, <paramref name="version"/>"</c> adds (the package and
    /// everything it depends on), and a note when the name is an alias or the version was left out.
    /// </summary>
    /// <exception cref="PackageNotCarriedException">the runner does not carry the package, or carries another version.</exception>
    public (IReadOnlyList<string> Assemblies, string? Note) Resolve(string name, string? version)
    {
        string? note = null;
        var packageName = name;
        if (Aliases.TryGetValue(name, out var alias))
        {
            note = $"{name}: {alias.Note}";
            var versionOf = alias.Target ?? AliasVersionOf[name];
            CheckVersion(name, version, Find(versionOf, name));
            if (alias.Target is null) return ([], note);
            packageName = alias.Target;
        }
        var package = Find(packageName, name);
        if (alias.Note is null) CheckVersion(name, version, package);
        if (version is null) note = $"{name} has no version: the runner uses the one it carries, {package.Version}";

        var files = new List<string>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var pending = new Stack<string>([package.Name]);
        while (pending.Count > 0)
        {
            var next = pending.Pop();
            if (!seen.Add(next) || !packages.TryGetValue(next, out var p)) continue;
            foreach (var file in p.AssemblyFiles)
                if (assemblyPaths.TryGetValue(file, out var path)) files.Add(path);
            foreach (var dependency in p.Dependencies) pending.Push(dependency);
        }
        return (files, note);
    }

    Package Find(string packageName, string requested) =>
        packages.TryGetValue(packageName, out var package) ? package
            : throw new PackageNotCarriedException(
                $"the runner does not carry the package {requested}. It carries: {string.Join(", ", CarriedNames())}. " +
                "To use another package, add it to src/NotebookRunner/NotebookRunner.csproj (version in Directory.Packages.props).");

    static void CheckVersion(string requested, string? version, Package carried)
    {
        if (version is not null && !string.Equals(version, carried.Version, StringComparison.OrdinalIgnoreCase))
            throw new PackageNotCarriedException(
                $"the runner carries {carried.Name} {carried.Version}, not {requested} {version}: pin {carried.Version} (Directory.Packages.props) or update both.");
    }

    /// <summary>The packages the runner's projects reference directly, and the aliases.</summary>
    IEnumerable<string> CarriedNames() =>
        packages.Values.Where(p => p.IsProject).SelectMany(p => p.Dependencies).Distinct()
            .Where(n => packages.TryGetValue(n, out var p) && !p.IsProject)
            .Select(n => $"{packages[n].Name} {packages[n].Version}")
            .Concat(Aliases.Keys).Order(StringComparer.OrdinalIgnoreCase);

    /// <summary>The full path of an assembly the runner carries, by file name (e.g. FineTuning.dll), or null.</summary>
    public string? CarriedAssembly(string fileName) => assemblyPaths.GetValueOrDefault(fileName);
}

/// <summary>A <c>#r "nuget: ..."</c> the runner cannot satisfy.</summary>
public sealed class PackageNotCarriedException(string message) : Exception(message);
