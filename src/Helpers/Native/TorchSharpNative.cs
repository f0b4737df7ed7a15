using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using TorchSharp;

namespace FineTuning.Native;

/// <summary>
/// Loads TorchSharp's own native libraries by full path before TorchSharp looks for them by name.
/// </summary>
/// <remarks>
/// Why: a host without a complete .deps.json (a notebook kernel, a script runner) lets the dynamic loader resolve
/// <c>libtorch_cpu.so</c> by name, and on a machine with Debian's <c>libtorch1.13</c> (installed with
/// <c>python3-torch</c>) that is the system's 1.13 library: TorchSharp then dies with an undefined symbol.
/// Once our <c>libtorch_cpu.so</c> is loaded by full path, every later request for that soname — including the
/// DT_NEEDED entries of libLibTorchSharp.so — gets ours. Also explains the GLIBCXX_3.4.32 failure in words
/// instead of TorchSharp's misleading "doesn't contain a reference to libtorch-cpu-linux-x64".
/// Call <see cref="Load"/> first in any host; the library also calls it from a module initializer.
/// </remarks>
public static class TorchSharpNative
{
    static readonly object Gate = new();
    static string? loadedFrom;

    /// <summary>The folder whose libtorch we loaded, or null if we left loading to TorchSharp.</summary>
    public static string? LoadedFrom => loadedFrom;

    /// <summary>The one command that patches TorchSharp in the NuGet cache (for notebooks on older Linux).</summary>
    public const string FixCommand = "dotnet run --project tools/FixTorchSharp";

#pragma warning disable CA2255 // a library initializer on purpose: every host gets our libtorch before TorchSharp looks
    [System.Runtime.CompilerServices.ModuleInitializer]
#pragma warning restore CA2255
    internal static void Preload()
    {
        // Best effort: a module initializer must never throw. Explicit Load() calls report problems.
        try { Load(); } catch (Exception) { }
    }

    /// <summary>
    /// Loads libtorch_cpu (and libtorch_cuda when present beside it) and libLibTorchSharp by full path, from the folder
    /// TorchSharp would use or, in a notebook kernel, from the libtorch package beside TorchSharp's with the library's
    /// own GLIBCXX-fixed copy of libLibTorchSharp.so. Never loads a second libtorch: when one is already mapped into
    /// the process (a notebook cell used <c>torch</c> before any FineTuning type), it leaves it, says what it found on
    /// stderr when TorchSharp runs on it, and throws when TorchSharp cannot (see <see cref="DescribeLoaded"/>).
    /// Idempotent.
    /// </summary>
    /// <exception cref="InvalidOperationException">when the native libraries are found but cannot be loaded, or a
    /// libtorch TorchSharp cannot use is already loaded; the message says why and what to do.</exception>
    public static void Load()
    {
        lock (Gate)
        {
            if (loadedFrom is not null || !OperatingSystem.IsLinux()) return;
            var natives = FindNatives();
            var mapped = MappedLibTorch();
            if (mapped.Count > 0)
            {
                // Already ours (a second Load, or TorchSharp loaded the very files we would)?
                var ours = natives is null ? null : Path.Combine(natives.Value.LibTorchDirectory, "libtorch_cpu.so");
                if (ours is not null && mapped.Any(m => SameFile(m, ours)))
                {
                    loadedFrom = natives!.Value.LibTorchDirectory;
                    return;
                }
                RefuseSecondLibTorch(mapped, ours);
                return;
            }
            if (natives is not { } found) return; // e.g. a CUDA notebook whose package TorchSharp consolidates itself.

            var torchSharpLib = found.LibTorchSharp;
            var system = ElfVersionNeeds.FindSystemLibStdCxx();
            if (ElfVersionNeeds.WouldFailToLoad(torchSharpLib, ElfVersionNeeds.TorchSharpGlibcxxVersion, system))
                throw new InvalidOperationException(
                    $"{torchSharpLib} needs {ElfVersionNeeds.TorchSharpGlibcxxVersion} (GCC 13's libstdc++), which {system} does not " +
                    $"define, so TorchSharp cannot load on this system. Projects of this repository fix their copy at build time " +
                    $"(rebuild: dotnet build Helpers.sln); for the NuGet cache run once: {FixCommand}  (see README, Troubleshooting).");

            var trace = new StringBuilder();
            var dir = found.LibTorchDirectory;
            var files = new[] { "libc10.so", "libtorch_cpu.so", "libtorch_cuda.so", "libtorch.so" }.Select(n => Path.Combine(dir, n)).Append(torchSharpLib);
            foreach (var path in files)
            {
                if (!File.Exists(path)) continue;
                if (!NativeLibrary.TryLoad(path, out _))
                {
                    trace.AppendLine($"  could not load {path}");
                    if (Path.GetFileName(path) is "libtorch_cpu.so" or "libLibTorchSharp.so")
                        throw new InvalidOperationException($"TorchSharp's native library could not be loaded from {dir}:\n{trace}" +
                            "Run `LD_DEBUG=libs dotnet ...` to see which dependency is missing.");
                }
            }
            loadedFrom = dir;
        }
    }

    /// <summary>libtorch is in the process already and is not the one we would load: keep it, never add a second
    /// (two libtorch copies register the same operators twice and abort the process: "Tried to register multiple backend
    /// fallbacks for the same dispatch key").</summary>
    static void RefuseSecondLibTorch(IReadOnlyList<string> mapped, string? ours)
    {
        var found = $"libtorch is already loaded in this process from {string.Join(", ", mapped)}";
        var notLoading = ours is null ? "" : $"; not loading a second one from {ours}";
        if (MappedFiles().Any(f => Path.GetFileName(f) == "libLibTorchSharp.so"))
        {
            // TorchSharp loaded it and runs on it (a cell used `torch` before any FineTuning type): use that one.
            loadedFrom = Path.GetDirectoryName(mapped[0]);
            Console.Error.WriteLine($"FineTuning: {found} (TorchSharp loaded it){notLoading}: the library uses the loaded one.");
            return;
        }
        throw new InvalidOperationException(
            $"{found}, but TorchSharp's native library (libLibTorchSharp.so) is not loaded on top of it: TorchSharp cannot " +
            $"use it (a system libtorch such as Debian's python3-torch 1.13?){notLoading}, because a second libtorch in one process " +
            "aborts it. In a notebook: restart the kernel and run `#!import setup.dib` before any cell uses `torch` " +
            "(it loads TorchSharp's own libtorch first).");
    }

    /// <summary>What the process has loaded: each libtorch and libLibTorchSharp mapped (from /proc/self/maps), and
    /// where <see cref="Load"/> took them from. For lesson 00 and error reports.</summary>
    public static string DescribeLoaded()
    {
        if (!OperatingSystem.IsLinux()) return "(only Linux is inspected)";
        var files = MappedFiles().Where(f => IsLibTorch(Path.GetFileName(f)) || Path.GetFileName(f) == "libLibTorchSharp.so").ToList();
        return (files.Count == 0 ? "no libtorch loaded yet" : "loaded: " + string.Join(", ", files))
               + (loadedFrom is null ? "" : $" (TorchSharpNative.Load: {loadedFrom})");
    }

    /// <summary>Every distinct libtorch_cpu.so / libtorch.so (any version suffix) mapped into this process.</summary>
    public static IReadOnlyList<string> MappedLibTorch() => MappedFiles().Where(f => IsLibTorch(Path.GetFileName(f))).ToList();

    static bool IsLibTorch(string name) =>
        name is "libtorch_cpu.so" or "libtorch.so" || name.StartsWith("libtorch_cpu.so.", StringComparison.Ordinal)
        || name.StartsWith("libtorch.so.", StringComparison.Ordinal);

    /// <summary>The files mapped into this process, in first-mapped order (/proc/self/maps' path column).</summary>
    static IReadOnlyList<string> MappedFiles()
    {
        try
        {
            // "address perms offset dev inode   path": the path is what follows the fifth field.
            return File.ReadLines("/proc/self/maps")
                .Select(l => l.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries))
                .Where(f => f.Length == 6 && f[5].StartsWith('/'))
                .Select(f => f[5].Trim())
                .Distinct(StringComparer.Ordinal)
                .ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    static bool SameFile(string a, string b)
    {
        static string Real(string p)
        {
            try { return new FileInfo(p).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? Path.GetFullPath(p); }
            catch (IOException) { return Path.GetFullPath(p); }
        }
        return string.Equals(Real(a), Real(b), StringComparison.Ordinal);
    }

    /// <summary>Where the natives come from: libtorch's folder and the libLibTorchSharp.so to load on top of it.</summary>
    readonly record struct Natives(string LibTorchDirectory, string LibTorchSharp);

    static Natives? FindNatives()
    {
        if (FindNativeDirectory(includeConsolidated: false) is { } dir)
            return new Natives(dir, Path.Combine(dir, "libLibTorchSharp.so"));
        if (FindKernelPackages() is { } packages)
            return packages;
        return FindNativeDirectory(includeConsolidated: true) is { } consolidated
            ? new Natives(consolidated, Path.Combine(consolidated, "libLibTorchSharp.so"))
            : null;
    }

    /// <summary>
    /// A notebook kernel restores TorchSharp and libtorch-cpu-linux-x64 as separate NuGet packages
    /// (…/packages/torchsharp/0.107.0/lib/net8.0/TorchSharp.dll and …/packages/libtorch-cpu-linux-x64/2.10.0/runtimes/
    /// linux-x64/native/). libtorch is loaded from its package; libLibTorchSharp.so from the library's own build output
    /// (native/linux-x64/, copied from the same TorchSharp version and GLIBCXX-fixed where the system needs it), so the
    /// NuGet cache is never edited and no manual step is needed on Debian 12 / Ubuntu 22.04.
    /// </summary>
    static Natives? FindKernelPackages()
    {
        var torchSharpDir = Path.GetDirectoryName(typeof(torch).Assembly.Location);
        if (string.IsNullOrEmpty(torchSharpDir)) return null;
        var torchSharpHome = Path.GetFullPath(Path.Combine(torchSharpDir, "..", ".."));       // …/torchsharp/0.107.0
        var packages = Path.GetFullPath(Path.Combine(torchSharpHome, "..", ".."));            // …/packages
        if (!string.Equals(Path.GetFileName(Path.GetDirectoryName(torchSharpHome)), "torchsharp", StringComparison.OrdinalIgnoreCase))
            return null;
        var metadata = typeof(TorchSharpNative).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .ToDictionary(a => a.Key, a => a.Value, StringComparer.Ordinal);
        if (metadata.GetValueOrDefault("TorchSharpVersion") is not { } builtWith
            || !string.Equals(Path.GetFileName(torchSharpHome), builtWith, StringComparison.OrdinalIgnoreCase))
            return null;   // another TorchSharp than the one the library's copy comes from: leave it to TorchSharp
        var libTorch = Path.Combine(packages, "libtorch-cpu-linux-x64", metadata.GetValueOrDefault("LibTorchVersion") ?? "", "runtimes", "linux-x64", "native");
        var ownCopy = Path.Combine(Path.GetDirectoryName(typeof(TorchSharpNative).Assembly.Location) ?? "", "native", "linux-x64", "libLibTorchSharp.so");
        if (!File.Exists(Path.Combine(libTorch, "libtorch_cpu.so"))) return null;
        if (File.Exists(ownCopy)) return new Natives(libTorch, ownCopy);
        var packaged = Path.Combine(torchSharpHome, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        return File.Exists(packaged) ? new Natives(libTorch, packaged) : null;
    }

    /// <summary>
    /// Where libLibTorchSharp.so and libtorch_cpu.so sit together: the app's runtimes folder, the app folder itself
    /// (RID-specific publish), or the folder TorchSharp consolidates packages into for interactive hosts.
    /// </summary>
    public static string? FindNativeDirectory() => FindNativeDirectory(includeConsolidated: true);

    static string? FindNativeDirectory(bool includeConsolidated)
    {
        var candidates = new List<string>
        {
            Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native"),
            AppContext.BaseDirectory,
        };
        var torchSharpDir = Path.GetDirectoryName(typeof(torch).Assembly.Location);
        if (!string.IsNullOrEmpty(torchSharpDir))
        {
            candidates.Add(Path.Combine(torchSharpDir, "runtimes", "linux-x64", "native"));
            candidates.Add(torchSharpDir);
            if (includeConsolidated) candidates.Add(Path.Combine(torchSharpDir, "cpu"));
        }
        foreach (var dir in candidates)
            if (File.Exists(Path.Combine(dir, "libLibTorchSharp.so")) && File.Exists(Path.Combine(dir, "libtorch_cpu.so")))
                return Path.GetFullPath(dir);
        return null;
    }
}
