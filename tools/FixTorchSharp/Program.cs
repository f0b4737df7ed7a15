// Patches every libLibTorchSharp.so of the TorchSharp package in the NuGet cache (and the "cpu"/"cuda-*" copies
// TorchSharp consolidates there for notebooks) when this system's libstdc++ lacks GLIBCXX_3.4.32.
// Idempotent: run it again and nothing changes. Usage: dotnet run --project tools/FixTorchSharp [-- <packages folder>]
using FineTuning.Native;

var packages = args.Length > 0 ? args[0]
    : Environment.GetEnvironmentVariable("NUGET_PACKAGES")
      ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
var torchsharp = Path.Combine(packages, "torchsharp");
if (!Directory.Exists(torchsharp))
{
    Console.Error.WriteLine($"No TorchSharp package under {packages}. Restore or open a notebook that references TorchSharp first, then run this again.");
    return 1;
}

var system = ElfVersionNeeds.FindSystemLibStdCxx();
Console.WriteLine($"System libstdc++: {system ?? "(not found)"}");
int count = 0;
foreach (var lib in Directory.EnumerateFiles(torchsharp, "libLibTorchSharp.so", SearchOption.AllDirectories))
{
    Console.WriteLine(ElfVersionNeeds.PatchIfNeeded(lib, system));
    count++;
}
Console.WriteLine(count == 0 ? $"No libLibTorchSharp.so under {torchsharp}." : $"Checked {count} file(s).");
return 0;
