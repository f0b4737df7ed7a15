using FineTuning.Native;
using TorchSharp;

namespace FineTuning.Tests.Native;

public class ElfVersionNeedsTests
{
    /// <summary>The pristine libLibTorchSharp.so from the NuGet package (the build patches only its copy).</summary>
    static string PackagedLibTorchSharp()
    {
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                       ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var path = Path.Combine(packages, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(path), $"TorchSharp package not restored at {path}");
        return path;
    }

    [Fact]
    public void TorchSharp_Loads_And_Computes()
    {
        using var t = torch.arange(6, dtype: torch.float32).reshape(2, 3);
        Assert.Equal(15f, t.sum().item<float>());
        Assert.NotNull(TorchSharpNative.LoadedFrom);
    }

    [Fact]
    public void Package_Library_Needs_Glibcxx_3_4_32_Strongly()
    {
        var needs = ElfVersionNeeds.ReadNeeds(PackagedLibTorchSharp());
        var need = Assert.Single(needs, n => n.Version == ElfVersionNeeds.TorchSharpGlibcxxVersion);
        Assert.Equal("libstdc++.so.6", need.File);
        Assert.False(need.IsWeak);
        Assert.Contains(needs, n => n.Version == "GLIBC_2.2.5" && n.File == "libc.so.6");
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    static extern int link(string oldPath, string newPath);

    [Fact]
    public void MarkWeak_Through_A_Hard_Link_Replaces_The_File_And_Leaves_The_Linked_Original_Untouched()
    {
        // The build hard-links TorchSharp's native files from the NuGet cache into every bin (Directory.Build.props),
        // then patches bin's libLibTorchSharp.so: that must give bin a new file, never write into the cache's.
        if (!OperatingSystem.IsLinux()) return;
        var folder = Path.Combine(Path.GetTempPath(), $"hardlink-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        try
        {
            var original = Path.Combine(folder, "cache-libLibTorchSharp.so");
            var linked = Path.Combine(folder, "bin-libLibTorchSharp.so");
            File.Copy(PackagedLibTorchSharp(), original);
            var pristine = File.ReadAllBytes(original);
            Assert.True(link(original, linked) == 0, $"link(2) failed: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");

            Assert.True(ElfVersionNeeds.MarkWeak(linked, ElfVersionNeeds.TorchSharpGlibcxxVersion));

            Assert.Equal(pristine, File.ReadAllBytes(original));
            Assert.False(ElfVersionNeeds.ReadNeeds(original).Single(n => n.Version == ElfVersionNeeds.TorchSharpGlibcxxVersion).IsWeak);
            Assert.True(ElfVersionNeeds.ReadNeeds(linked).Single(n => n.Version == ElfVersionNeeds.TorchSharpGlibcxxVersion).IsWeak);
            Assert.Equal(new[] { "bin-libLibTorchSharp.so", "cache-libLibTorchSharp.so" },
                Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));   // no temporary file left
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    [Fact]
    public void MarkWeak_Changes_Exactly_That_Entry_And_Is_Idempotent()
    {
        var copy = Path.Combine(Path.GetTempPath(), $"libLibTorchSharp-{Guid.NewGuid():N}.so");
        File.Copy(PackagedLibTorchSharp(), copy);
        try
        {
            var before = File.ReadAllBytes(copy);
            var needsBefore = ElfVersionNeeds.ReadNeeds(copy);

            Assert.True(ElfVersionNeeds.MarkWeak(copy, ElfVersionNeeds.TorchSharpGlibcxxVersion));

            var after = File.ReadAllBytes(copy);
            Assert.Equal(before.Length, after.Length);
            var changed = Enumerable.Range(0, before.Length).Where(i => before[i] != after[i]).ToList();
            var target = needsBefore.Single(n => n.Version == ElfVersionNeeds.TorchSharpGlibcxxVersion);
            Assert.Equal(new[] { (int)target.FlagsOffset }, changed); // one byte: the low byte of vna_flags
            Assert.Equal(before[target.FlagsOffset] | ElfVersionNeed.WeakFlag, after[target.FlagsOffset]);

            var needsAfter = ElfVersionNeeds.ReadNeeds(copy);
            Assert.Equal(needsBefore.Count, needsAfter.Count);
            foreach (var (b, a) in needsBefore.Zip(needsAfter))
                Assert.Equal(b.Version == ElfVersionNeeds.TorchSharpGlibcxxVersion, a.IsWeak != b.IsWeak);

            Assert.False(ElfVersionNeeds.MarkWeak(copy, ElfVersionNeeds.TorchSharpGlibcxxVersion)); // idempotent
            Assert.Equal(after, File.ReadAllBytes(copy));
        }
        finally { File.Delete(copy); }
    }

    [Fact]
    public void System_LibStdCxx_Definitions_Are_Read()
    {
        var lib = ElfVersionNeeds.FindSystemLibStdCxx();
        Assert.NotNull(lib);
        var defs = ElfVersionNeeds.ReadDefinitions(lib!);
        Assert.Contains("GLIBCXX_3.4", defs);
        Assert.Contains("CXXABI_1.3", defs);
        Assert.DoesNotContain("GLIBCXX_99.0", defs);
    }

    [Fact]
    public void PatchIfNeeded_Patches_Only_When_The_System_Lacks_The_Version()
    {
        var copy = Path.Combine(Path.GetTempPath(), $"libLibTorchSharp-{Guid.NewGuid():N}.so");
        File.Copy(PackagedLibTorchSharp(), copy);
        try
        {
            var system = ElfVersionNeeds.FindSystemLibStdCxx()!;
            // A need the system satisfies (GLIBCXX_3.4) is left alone...
            ElfVersionNeeds.PatchIfNeeded(copy, system, "GLIBCXX_3.4");
            Assert.False(ElfVersionNeeds.ReadNeeds(copy).Single(n => n.Version == "GLIBCXX_3.4").IsWeak);
            // ...one it lacks is weakened, exactly when it lacks it.
            bool lacks = !ElfVersionNeeds.ReadDefinitions(system).Contains(ElfVersionNeeds.TorchSharpGlibcxxVersion);
            ElfVersionNeeds.PatchIfNeeded(copy, system);
            Assert.Equal(lacks, ElfVersionNeeds.ReadNeeds(copy).Single(n => n.Version == ElfVersionNeeds.TorchSharpGlibcxxVersion).IsWeak);
        }
        finally { File.Delete(copy); }
    }

    [Fact]
    public void Not_An_Elf_File_Is_A_Clear_Error()
    {
        var f = Path.GetTempFileName();
        File.WriteAllText(f, "hello");
        try
        {
            var e = Assert.Throws<InvalidDataException>(() => ElfVersionNeeds.ReadNeeds(f));
            Assert.Contains(f, e.Message);
        }
        finally { File.Delete(f); }
    }
}
