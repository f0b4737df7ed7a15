using FineTuning.Data;

namespace FineTuning.Tests.Data;

public class PaddingStatsTests
{
    [Fact]
    public void Counts_Real_Dynamic_And_Max_Length_Tokens()
    {
        int[] lengths = [10, 20, 5, 5, 30];
        var stats = PaddingStats.Compute(lengths, batchSize: 2, maxLength: 128);
        Assert.Equal(5, stats.Examples);
        Assert.Equal(3, stats.Batches);
        Assert.Equal(70, stats.RealTokens);
        Assert.Equal(2 * 20 + 2 * 5 + 1 * 30, stats.DynamicTokens);
        Assert.Equal(5 * 128, stats.MaxLengthTokens);
        Assert.Equal(640.0 / 80, stats.Saving, 10);
        Assert.Contains("8.00x fewer", stats.ToString());
    }
}
