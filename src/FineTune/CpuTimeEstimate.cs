using System.Diagnostics;
using System.Globalization;
using static TorchSharp.torch;

namespace FineTuning.FineTune;

/// <summary>
/// Before training on a CPU: roughly how long it will take, from the model size, the tokens per step and this
/// machine's measured matrix-multiplication speed, with advice when a base-sized model makes it long.
/// </summary>
/// <remarks>
/// Compute: a transformer's forward + backward costs about 6 FLOPs per parameter (outside the embeddings) per token
/// (Kaplan et al. 2020), an evaluation 2; a CPU reaches about half its float32 matmul speed on a whole BERT step
/// (layer norms, softmax, GELU, memory traffic). The optimizer reads and writes ~4 float32 values per parameter
/// (embeddings included) each step, at an assumed ~10 GB/s. A rough figure: the progress bar's ETA is measured.
/// </remarks>
internal static class CpuTimeEstimate
{
    const double MatmulEfficiency = 0.5;
    const double MemoryBytesPerSecond = 10e9;

    /// <summary>Hidden size from which a model counts as base-sized (BERT-base: 768).</summary>
    public const int BaseHiddenSize = 768;

    /// <summary>float32 matmul speed of this machine in FLOP/s (torch's threads, ~0.3 s of 512×512 products).</summary>
    public static double MeasureFlops()
    {
        using var scope = NewDisposeScope();
        const int n = 512;
        var a = randn(n, n);
        var b = randn(n, n);
        mm(a, b).Dispose(); // warm-up
        long products = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < 0.3)
        {
            mm(a, b).Dispose();
            products++;
        }
        return 2.0 * n * n * n * products / clock.Elapsed.TotalSeconds;
    }

    /// <summary>Seconds for the whole run's training steps plus its evaluations.</summary>
    public static double Seconds(long nonEmbeddingParameters, long allParameters, int steps, double tokensPerStep,
        double evalTokensPerEvaluation, int evaluations, double flopsPerSecond)
    {
        double effective = flopsPerSecond * MatmulEfficiency;
        double stepSeconds = 6.0 * nonEmbeddingParameters * tokensPerStep / effective + 4.0 * 4 * allParameters / MemoryBytesPerSecond;
        double evalSeconds = 2.0 * nonEmbeddingParameters * evalTokensPerEvaluation / effective;
        return steps * stepSeconds + evaluations * evalSeconds;
    }

    /// <summary>The message printed before training: the estimate, and for a base-sized model, what would be quicker.</summary>
    public static string Describe(long allParameters, int hiddenSize, int steps, int examplesPerStep, double tokensPerExample,
        double seconds, double flopsPerSecond)
    {
        var text = string.Create(CultureInfo.InvariantCulture,
            $"Training on the CPU: {steps:N0} optimizer steps of {examplesPerStep} examples × ~{tokensPerExample:0} tokens with a "
            + $"{Millions(allParameters)}-parameter model. This machine multiplies matrices at ~{flopsPerSecond / 1e9:0} GFLOP/s, so expect "
            + $"roughly {Duration(seconds)} (a rough estimate; the progress bar's ETA is measured).");
        if (hiddenSize >= BaseHiddenSize)
            text += "\nA base-sized model is slow on a CPU. A GPU does this in minutes; on a CPU try a smaller model such as "
                + "google/bert_uncased_L-4_H-256_A-4 (11M parameters, over 20× faster) or prajjwal1/bert-tiny (4M), fewer examples "
                + "(--max_train_samples) or shorter ones (--max_seq_length 64, --pad_to_max_length False).";
        return text;
    }

    static string Millions(long n) => n >= 1e6
        ? (n / 1e6).ToString(n >= 1e8 ? "0" : "0.#", CultureInfo.InvariantCulture) + "M"
        : (n / 1e3).ToString("0", CultureInfo.InvariantCulture) + "K";

    /// <summary>"about 40 s", "about 12 min", "about 2 h 10 min".</summary>
    public static string Duration(double seconds)
    {
        if (seconds < 59.5) return $"{Math.Max(1, (long)Math.Round(seconds, MidpointRounding.AwayFromZero))} s";
        long minutes = (long)Math.Round(seconds / 60, MidpointRounding.AwayFromZero);
        return minutes < 60 ? $"{minutes} min" : $"{minutes / 60} h {minutes % 60} min";
    }
}
