using static TorchSharp.torch;

namespace FineTuning.Data;

/// <summary>
/// The order in which examples are visited: PyTorch's SequentialSampler / RandomSampler and HF's
/// LengthGroupedSampler (group_by_length). Random orders come from torch's own generator seeded with the seed,
/// so they are the same on every run and machine — and the same as PyTorch's for that seed.
/// </summary>
public static class Samplers
{
    /// <summary>0, 1, …, count-1 (PyTorch SequentialSampler: evaluation, or no shuffling).</summary>
    public static int[] Sequential(int count) => Enumerable.Range(0, count).ToArray();

    /// <summary>A permutation of 0..count-1: <c>torch.randperm(count, generator=torch.Generator().manual_seed(seed))</c>,
    /// what PyTorch's RandomSampler yields for one epoch.</summary>
    public static int[] Random(int count, long seed)
    {
        using var generator = new Generator((ulong)seed, CPU);
        return RandPerm(count, generator);
    }

    /// <summary>
    /// HF <c>get_length_grouped_indices</c> (Trainer's <c>group_by_length</c>): shuffle, cut into mega-batches of
    /// <paramref name="megaBatchMult"/> × batch size (default min(count / (4 × batch size), 50), at least 1), sort
    /// each by length, longest first, and move the longest example of all to the very front, so an out-of-memory
    /// error shows on the first step rather than hours later. Batches then hold examples of similar length: little
    /// padding, with most of the randomness kept.
    /// </summary>
    /// <param name="lengths">tokens per example (e.g. the length of input_ids).</param>
    /// <param name="batchSize">examples per batch (times gradient accumulation, as HF passes it).</param>
    /// <param name="seed">the shuffle's seed.</param>
    /// <param name="megaBatchMult">batches per mega-batch; HF's default when null.</param>
    public static int[] LengthGrouped(IReadOnlyList<int> lengths, int batchSize, long seed, int? megaBatchMult = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        using var generator = new Generator((ulong)seed, CPU);
        var indices = RandPerm(lengths.Count, generator);
        int mult = megaBatchMult ?? Math.Min(lengths.Count / (batchSize * 4), 50);
        if (mult == 0) mult = 1;
        int megaSize = mult * batchSize;

        // Stable sort by length, descending, within each mega-batch (Python's sorted(..., reverse=True) is stable).
        var megaBatches = indices.Chunk(megaSize)
            .Select(mb => mb.Select((index, position) => (index, position))
                            .OrderByDescending(p => lengths[p.index]).ThenBy(p => p.position)
                            .Select(p => p.index).ToArray())
            .ToList();
        if (megaBatches.Count == 0) return [];

        // The longest example overall goes first: swap it with the first mega-batch's head.
        int maxMega = 0;
        for (int i = 1; i < megaBatches.Count; i++)
            if (lengths[megaBatches[i][0]] > lengths[megaBatches[maxMega][0]]) maxMega = i;
        (megaBatches[0][0], megaBatches[maxMega][0]) = (megaBatches[maxMega][0], megaBatches[0][0]);
        return megaBatches.SelectMany(mb => mb).ToArray();
    }

    /// <summary>PyTorch's BatchSampler: consecutive groups of <paramref name="batchSize"/>; the last one shorter
    /// unless <paramref name="dropLast"/>.</summary>
    public static IEnumerable<int[]> Batches(IEnumerable<int> order, int batchSize, bool dropLast = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        return order.Chunk(batchSize).Where(b => !dropLast || b.Length == batchSize);
    }

    static int[] RandPerm(int count, Generator generator)
    {
        using var perm = randperm(count, ScalarType.Int64, CPU, false, generator);
        return perm.data<long>().Select(i => (int)i).ToArray();
    }
}
