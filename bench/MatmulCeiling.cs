using System.Diagnostics;
using static TorchSharp.torch;

namespace FineTuning.Benchmarks;

/// <summary>
/// Part b: what this CPU's matmul reaches through libtorch (TorchSharp's 2.10: MKL / oneDNN) — large square
/// products, fp32 and bf16, with the intra-op threads of the benchmark. The ceiling is the best size's median.
/// </summary>
public sealed record MatmulCeiling(string DType, IReadOnlyDictionary<int, Figure> GflopsBySize, Figure Ceiling)
{
    public static MatmulCeiling Measure(ScalarType dtype, int[] sizes, double secondsPerSize)
    {
        var bySize = new Dictionary<int, Figure>();
        foreach (int n in sizes)
        {
            using var scope = NewDisposeScope();
            var a = randn(n, n).to_type(dtype);
            var b = randn(n, n).to_type(dtype);
            mm(a, b);                                                 // warm-up: packing buffers, thread pool
            var clock = Stopwatch.StartNew();
            mm(a, b);
            double first = clock.Elapsed.TotalSeconds;
            int reps = Math.Clamp((int)(secondsPerSize / Math.Max(first, 1e-3)), 3, 50);
            var gflops = new List<double> { 2.0 * n * n * n / first / 1e9 };
            for (int i = 1; i < reps; i++)
            {
                clock.Restart();
                mm(a, b);
                gflops.Add(2.0 * n * n * n / clock.Elapsed.TotalSeconds / 1e9);
            }
            bySize[n] = Figure.Of(gflops);
            Console.WriteLine($"    {dtype} {n}x{n}: {bySize[n].Format("F0")} GFLOP/s");
        }
        var best = bySize.Values.MaxBy(f => f.Median)!;
        return new MatmulCeiling(dtype.ToString(), bySize, best);
    }

    static void mm(Tensor a, Tensor b)
    {
        using var product = a.mm(b);
    }
}
