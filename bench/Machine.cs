using System.Diagnostics;
using System.Runtime.InteropServices;

namespace FineTuning.Benchmarks;

/// <summary>What the numbers were measured on, and which native libraries this process really runs.</summary>
public static class Machine
{
    /// <summary>"Intel(R) Xeon(R) Processor, 2 cores, 23.4 GiB, AVX-512 (no AVX-512 BF16, no AMX)".</summary>
    public static string Describe()
    {
        string model = CpuInfoField("model name") ?? RuntimeInformation.ProcessArchitecture.ToString();
        var flags = (CpuInfoField("flags") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        string isa = flags.Contains("avx512f") ? "AVX-512" : flags.Contains("avx2") ? "AVX2" : "no AVX2";
        string bf16 = flags.Contains("avx512_bf16") ? "AVX-512 BF16" : "no AVX-512 BF16";
        string amx = flags.Contains("amx_bf16") ? "AMX-BF16" : "no AMX";
        return $"{model}, {Environment.ProcessorCount} cores, {MemoryGiB():F1} GiB, {isa} ({bf16}, {amx})";
    }

    /// <summary>Whether the CPU has native bf16 dot products (AVX-512 BF16 or AMX); without them libtorch emulates bf16 matmuls.</summary>
    public static bool HasNativeBf16()
    {
        var flags = (CpuInfoField("flags") ?? "").Split(' ');
        return flags.Contains("avx512_bf16") || flags.Contains("amx_bf16");
    }

    /// <summary>The 1-, 5- and 15-minute load averages (/proc/loadavg).</summary>
    public static double[] LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ').Take(3).Select(s => double.Parse(s, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        }
        catch (IOException) { return []; }
    }

    /// <summary>
    /// Every distinct libtorch_cpu.so mapped into this process (/proc/self/maps). Debian's python3-torch installs
    /// libtorch 1.13 on the system path; TorchSharp must still run its own 2.10 (FineTuning.Native.TorchSharpNative).
    /// </summary>
    public static IReadOnlyList<string> MappedLibTorch()
    {
        try
        {
            return File.ReadLines("/proc/self/maps")
                .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Where(f => f.Length >= 6 && Path.GetFileName(f[^1]).StartsWith("libtorch_cpu.so", StringComparison.Ordinal))
                .Select(f => f[^1]).Distinct().ToList();
        }
        catch (IOException) { return []; }
    }

    /// <summary>The process's resident set size (VmRSS), in MiB.</summary>
    public static double ResidentMiB()
    {
        using var p = Process.GetCurrentProcess();
        return p.WorkingSet64 / (1024.0 * 1024.0);
    }

    /// <summary>The process's peak resident set size (VmHWM of /proc/self/status, what Python's ru_maxrss reports), in MiB.</summary>
    public static double PeakRssMiB()
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return line is null ? double.NaN : double.Parse(line[6..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) / 1024.0;
    }

    static double MemoryGiB()
    {
        var line = File.Exists("/proc/meminfo") ? File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:")) : null;
        return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / (1024.0 * 1024.0);
    }

    static string? CpuInfoField(string name)
    {
        if (!File.Exists("/proc/cpuinfo")) return null;
        var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith(name, StringComparison.Ordinal));
        return line?[(line.IndexOf(':') + 1)..].Trim();
    }
}
