using FineTuning.Tests;
using static FineTuning.NotebookRunner.Tests.InlineNotebook;

namespace FineTuning.NotebookRunner.Tests;

/// <summary>
/// The order that killed lesson 00's kernel (issue 16): a cell uses TorchSharp's <c>torch</c> before any FineTuning
/// type, so TorchSharp loads a libtorch by itself (its consolidated NuGet copy, or a system one such as Debian's
/// python3-torch 1.13); the library, loaded next, used to load a second libtorch by full path, and the process aborted
/// ("Tried to register multiple backend fallbacks"). In the real kernel the kernel must survive, and the library
/// must say which libtorch it found instead of loading another.
/// </summary>
public class TorchSharpLoadOrderTests
{
    static string Library()
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;   // bin/<configuration>/net10.0
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var path = Path.Combine(dir.FullName, "src", "Helpers", "bin", configuration, "net10.0", "FineTuning.dll");
            if (File.Exists(path)) return path;
        }
        throw new FileNotFoundException("the library's build output (src/Helpers/bin/.../FineTuning.dll) was not found");
    }

    [Fact]
    public async Task TorchSharp_First_Then_The_Library_Never_Kills_The_Kernel()
    {
        using var folder = new TempFolder();
        var path = Write(folder, "torch-first.ipynb",
            "#r \"nuget: TorchSharp, 0.107.0\"\n#r \"nuget: libtorch-cpu-linux-x64, 2.10.0\"\n#r \"" + Library() + "\"",
            // TorchSharp first: on a machine where TorchSharp cannot load by itself (no GLIBCXX_3.4.32, or a system
            // libtorch it binds to) this cell fails with TorchSharp's message; elsewhere it computes.
            "TorchSharp.torch.ones(2).sum().item<float>()",
            // The library next: its module initializer and Load() see the loaded libtorch and load no second one.
            "FineTuning.Native.TorchSharpNative.Load();\nFineTuning.Native.TorchSharpNative.DescribeLoaded()",
            "\"the kernel is alive\"");
        var (result, executed) = await Run(folder, path, RunOptions.Default with { KeepGoing = true, CellTimeout = TimeSpan.FromMinutes(10) });

        Assert.DoesNotContain(result.Failures, f => f.ErrorName == "KernelLost");
        Assert.Equal(4, result.CellsRun);
        Assert.Contains("the kernel is alive", OutputText(CodeCells(executed)[3]!));
        var library = OutputText(CodeCells(executed)[2]!);
        if (result.Failures.Any(f => f.Message.Contains(", cell 3 (")))
            // A libtorch TorchSharp cannot run on is loaded (e.g. the system's): the library names it, loads no second one.
            Assert.Contains("libtorch is already loaded in this process from", library);
        else
            // TorchSharp runs on the libtorch it loaded (or none stayed loaded): the library says what is loaded.
            Assert.Contains("loaded: ", library);
        Assert.Contains("libtorch", library);
    }
}
