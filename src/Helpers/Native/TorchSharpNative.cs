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
    /// Loads libtorch_cpu (and libtorch_cuda when present beside it) and libLibTorchSharp from the folder TorchSharp
    /// would use, by full path. Idempotent.
    /// </summary>
    /// <exception cref="InvalidOperationException">when the native libraries are found but cannot be loaded; the
    /// message says why and what to run.</exception>
    public static void Load()
    {
        lock (Gate)
        {
            if (loadedFrom is not null || !OperatingSystem.IsLinux()) return;
            var dir = FindNativeDirectory();
            if (dir is null) return; // e.g. a CUDA notebook whose package TorchSharp consolidates itself.

            var torchSharpLib = Path.Combine(dir, "libLibTorchSharp.so");
            var system = ElfVersionNeeds.FindSystemLibStdCxx();
            if (ElfVersionNeeds.WouldFailToLoad(torchSharpLib, ElfVersionNeeds.TorchSharpGlibcxxVersion, system))
                throw new InvalidOperationException(
                    $"{torchSharpLib} needs {ElfVersionNeeds.TorchSharpGlibcxxVersion} (GCC 13's libstdc++), which {system} does not " +
                    $"define, so TorchSharp cannot load on this system. Projects of this repository fix their copy at build time; " +
                    $"for the NuGet cache (notebooks) run once: {FixCommand}  (see README, Troubleshooting).");

            var trace = new StringBuilder();
            foreach (var name in new[] { "libc10.so", "libtorch_cpu.so", "libtorch_cuda.so", "libtorch.so", "libLibTorchSharp.so" })
            {
                var path = Path.Combine(dir, name);
                if (!File.Exists(path)) continue;
                if (!NativeLibrary.TryLoad(path, out _))
                {
                    trace.AppendLine($"  could not load {path}");
                    if (name is "libtorch_cpu.so" or "libLibTorchSharp.so")
                        throw new InvalidOperationException($"TorchSharp's native library could not be loaded from {dir}:\n{trace}" +
                            "Run `LD_DEBUG=libs dotnet ...` to see which dependency is missing.");
                }
            }
            loadedFrom = dir;
        }
    }

    /// <summary>
    /// Where libLibTorchSharp.so and libtorch_cpu.so sit together: the app's runtimes folder, the app folder itself
    /// (RID-specific publish), or the folder TorchSharp consolidates packages into for interactive hosts.
    /// </summary>
    public static string? FindNativeDirectory()
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
            candidates.Add(Path.Combine(torchSharpDir, "cpu"));
        }
        foreach (var dir in candidates)
            if (File.Exists(Path.Combine(dir, "libLibTorchSharp.so")) && File.Exists(Path.Combine(dir, "libtorch_cpu.so")))
                return Path.GetFullPath(dir);
        return null;
    }
}
