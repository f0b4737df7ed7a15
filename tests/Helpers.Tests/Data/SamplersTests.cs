using FineTuning.Data;

namespace FineTuning.Tests.Data;

public class SamplersTests
{
    [Fact]
    public void Random_Is_Torch_RandPerm_With_The_Seed()
    {
        // torch.randperm(10, generator=torch.Generator().manual_seed(42)) in PyTorch: the same mt19937 generator.
        Assert.Equal([2, 6, 1, 8, 4, 5, 0, 9, 3, 7], Samplers.Random(10, 42));
        Assert.Equal(Samplers.Random(1000, 7), Samplers.Random(1000, 7));
        Assert.NotEqual(Samplers.Random(1000, 7), Samplers.Random(1000, 8));
        Assert.Equal(Enumerable.Range(0, 1000), Samplers.Random(1000, 7).Order());
    }

    [Fact]
    public void Batches_Keep_Or_Drop_The_Last_Short_Batch()
    {
        Assert.Equal([3, 3, 1], Samplers.Batches(Samplers.Sequential(7), 3).Select(b => b.Length));
        Assert.Equal([3, 3], Samplers.Batches(Samplers.Sequential(7), 3, dropLast: true).Select(b => b.Length));
    }

    [Fact]
    public void Length_Grouped_Sorts_Mega_Batches_And_Puts_The_Longest_First()
    {
        var random = new Random(3);
        var lengths = Enumerable.Range(0, 500).Select(_ => random.Next(5, 120)).ToArray();
        lengths[321] = 200; // the longest example
        var order = Samplers.LengthGrouped(lengths, batchSize: 4, seed: 42);

        Assert.Equal(Enumerable.Range(0, 500), order.Order());              // a permutation
        Assert.Equal(321, order[0]);                                        // longest first
        Assert.Equal(order, Samplers.LengthGrouped(lengths, 4, 42));        // deterministic
        int mega = Math.Min(500 / (4 * 4), 50) * 4;                          // HF's default mega-batch: 31 x 4
        foreach (var chunk in order.Chunk(mega).Skip(1))
            Assert.True(chunk.Select(i => lengths[i]).SequenceEqual(chunk.Select(i => lengths[i]).OrderDescending()), "mega-batch not sorted");

        // Batches of similar lengths: far less padding than random batches.
        var grouped = PaddingStats.Compute(lengths, Samplers.Batches(order, 4), maxLength: 200);
        var shuffled = PaddingStats.Compute(lengths, 4, maxLength: 200, seed: 42);
        Assert.True(grouped.DynamicTokens < shuffled.DynamicTokens * 0.8, $"{grouped.DynamicTokens} vs {shuffled.DynamicTokens}");
    }
}
