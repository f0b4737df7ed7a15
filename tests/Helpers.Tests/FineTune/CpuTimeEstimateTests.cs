using FineTuning.FineTune;

namespace FineTuning.Tests.FineTune;

public class CpuTimeEstimateTests
{
    [Fact]
    public void A_base_sized_model_gets_hours_and_a_smaller_model_suggested()
    {
        // bert-base on MRPC, 3 epochs of batch 8 at 128 tokens, on a ~100 GFLOP/s CPU.
        double seconds = CpuTimeEstimate.Seconds(nonEmbeddingParameters: 85_000_000, allParameters: 109_000_000, steps: 1377,
            tokensPerStep: 8 * 128, evalTokensPerEvaluation: 408 * 128, evaluations: 3, flopsPerSecond: 100e9);
        // ~10 s per step (6 × 85M × 1024 tokens at half of 100 GFLOP/s): about 4 hours, which is what such a run takes.
        Assert.InRange(seconds, 3 * 3600, 5 * 3600);
        var text = CpuTimeEstimate.Describe(109_000_000, 768, 1377, 8, 128, seconds, 100e9);
        Assert.StartsWith("Training on the CPU: 1,377 optimizer steps of 8 examples × ~128 tokens with a 109M-parameter model.", text);
        Assert.Contains("roughly 4 h", text);
        Assert.Contains("smaller model such as google/bert_uncased_L-4_H-256_A-4", text);
    }

    [Fact]
    public void A_small_model_gets_no_advice()
    {
        var text = CpuTimeEstimate.Describe(4_400_000, 128, 10, 8, 64, 12.4, 50e9);
        Assert.Contains("4.4M-parameter model", text);
        Assert.Contains("roughly 12 s", text);
        Assert.DoesNotContain("smaller model", text);
    }

    [Theory]
    [InlineData(0.2, "1 s")]
    [InlineData(59, "59 s")]
    [InlineData(600, "10 min")]
    [InlineData(7850, "2 h 11 min")]
    [InlineData(7190, "2 h 0 min")]
    public void Durations_read_naturally(double seconds, string expected) => Assert.Equal(expected, CpuTimeEstimate.Duration(seconds));

    [Fact]
    public void The_machine_speed_is_measured()
    {
        Assert.InRange(CpuTimeEstimate.MeasureFlops(), 1e8, 1e14);
    }
}
