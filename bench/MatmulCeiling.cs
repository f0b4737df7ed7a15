using System.Diagnostics;
using FineTuning.Amp;
using static TorchSharp.torch;

namespace FineTuning.Benchmarks;

/// <summary>
/// Part b: what this CPU's matmul reaches through libtorch (TorchSharp's 2.10: MKL / oneDNN) — large square
/// products with the benchmark's intra-op threads. Each size is timed repeatedly; the ceiling is the best repetition
/// of the best size, since contention on a shared machine can only slow a product down, never speed it up (the
/// achieved fractions are then conservative). Medians are reported beside it.
/// </summary>
/// <param name="Path">what was multiplied: "Float32", "BFloat16" (libtorch's bf16 mm) or "BFloat16 via Autocast"
/// (what our bf16 linear layers run: on a CPU without bf16 instructions an fp32 GEMM on bf16-rounded operands)</param>
public sealed record MatmulCeiling(string Path, IReadOnlyDictionary<int, Figure> GflopsBySize, double Ceiling)
{
    public static MatmulCeiling Measure(string path, int[] sizes, double secondsPerSize)
    {
        var dtype = path == "Float32" ? ScalarType.Float32 : ScalarType.BFloat16;
        var bySize = new Dictionary<int, Figure>();
        foreach (int n in sizes)
        {
            using var scope = NewDisposeScope();
            var a = randn(n, n).to_type(dtype);
            var b = randn(n, n).to_type(dtype);
            void Product()
            {
                using var inner = NewDisposeScope();
                if (path.EndsWith("Autocast", StringComparison.Ordinal))
                    using (Autocast.Enable(ScalarType.BFloat16)) Autocast.Matmul(a, b);
                else a.mm(b);
            }
            Product();                                                   // warm-up: packing buffers, thread pool
            var clock = Stopwatch.StartNew();
            Product();
            double first = clock.Elapsed.TotalSeconds;
            int reps = Math.Clamp((int)(secondsPerSize / Math.Max(first, 1e-3)), 3, 50);
            var gflops = new List<double> { 2.0 * n * n * n / first / 1e9 };
            for (int i = 1; i < reps; i++)
            {
                clock.Restart();
                Product();
                gflops.Add(2.0 * n * n * n / clock.Elapsed.TotalSeconds / 1e9);
            }
            bySize[n] = Figure.Of(gflops);
            Console.WriteLine($"    {path} {n}x{n}: median {bySize[n].Format("F0")}, best {bySize[n].Max:F0} GFLOP/s");
        }
        return new MatmulCeiling(path, bySize, bySize.Values.Max(f => f.Max));
    }
}

/// <summary>The same measurement through the PyTorch of the comparison (Debian's torch 1.13 with OpenBLAS), for context.</summary>
public sealed record PyTorchMatmul(int Size, double Float32Gflops, double BFloat16Gflops, string? Error)
{
    public static PyTorchMatmul Measure(Options o, int n)
    {
        const string script = """
            import os, sys, time
            import torch
            torch.set_num_threads(int(sys.argv[1])); n = int(sys.argv[2]); out = []
            for dt in (torch.float32, torch.bfloat16):
                a, b = torch.randn(n, n).to(dt), torch.randn(n, n).to(dt); a @ b
                best = min((lambda t: (a @ b, time.perf_counter() - t)[1])(time.perf_counter()) for _ in range(5))
                out.append(2 * n ** 3 / best / 1e9)
            print("RESULT %.1f %.1f" % tuple(out))
            """;
        if (!File.Exists(o.Python)) return new PyTorchMatmul(n, double.NaN, double.NaN, $"{o.Python} not found");
        var psi = new ProcessStartInfo(o.Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-c", script, $"{o.Threads}", $"{n}" }) psi.ArgumentList.Add(a);
        psi.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
        psi.Environment["OMP_NUM_THREADS"] = $"{o.Threads}";
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var line = p.StandardOutput.ReadToEnd().Split('\n').FirstOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal));
        p.WaitForExit();
        if (p.ExitCode != 0 || line is null) return new PyTorchMatmul(n, double.NaN, double.NaN, $"exit {p.ExitCode}: {stderr.Result.Trim().Split('\n').LastOrDefault()}");
        var parts = line.Split(' ');
        return new PyTorchMatmul(n, double.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture),
            double.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture), null);
    }
}
