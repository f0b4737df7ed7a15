namespace FineTuning.Data;

/// <summary>
/// What padding costs, for the padding lesson: the tokens a model processes when every batch is padded to its own
/// longest example (dynamic, <see cref="DataCollatorWithPadding"/>) versus to a fixed max_length.
/// </summary>
/// <param name="Examples">examples counted.</param>
/// <param name="Batches">batches counted.</param>
/// <param name="RealTokens">tokens that are not padding.</param>
/// <param name="DynamicTokens">tokens processed with dynamic padding (Σ batch size × its longest example).</param>
/// <param name="MaxLengthTokens">tokens processed when padding everything to max_length.</param>
public sealed record PaddingStats(int Examples, int Batches, long RealTokens, long DynamicTokens, long MaxLengthTokens)
{
    /// <summary>Share of processed tokens that are real, with dynamic padding.</summary>
    public double DynamicEfficiency => DynamicTokens == 0 ? 1 : (double)RealTokens / DynamicTokens;
    /// <summary>Share of processed tokens that are real, with max_length padding.</summary>
    public double MaxLengthEfficiency => MaxLengthTokens == 0 ? 1 : (double)RealTokens / MaxLengthTokens;
    /// <summary>How many times fewer tokens dynamic padding processes.</summary>
    public double Saving => DynamicTokens == 0 ? 1 : (double)MaxLengthTokens / DynamicTokens;

    /// <summary>
    /// Counts for the batches <paramref name="batches"/> (lists of example indices, e.g. from
    /// <see cref="Samplers.Batches"/>) over examples of the given <paramref name="lengths"/>.
    /// </summary>
    public static PaddingStats Compute(IReadOnlyList<int> lengths, IEnumerable<int[]> batches, int maxLength)
    {
        int examples = 0, count = 0;
        long real = 0, dynamic = 0;
        foreach (var batch in batches)
        {
            if (batch.Length == 0) continue;
            count++;
            examples += batch.Length;
            int longest = 0;
            foreach (var i in batch)
            {
                real += lengths[i];
                longest = Math.Max(longest, lengths[i]);
            }
            dynamic += (long)batch.Length * longest;
        }
        return new PaddingStats(examples, count, real, dynamic, (long)examples * maxLength);
    }

    /// <summary>Counts for batches of <paramref name="batchSize"/> in data set order (or shuffled with <paramref name="seed"/>).</summary>
    public static PaddingStats Compute(IReadOnlyList<int> lengths, int batchSize, int maxLength, long? seed = null, bool dropLast = false)
        => Compute(lengths, Samplers.Batches(seed is long s ? Samplers.Random(lengths.Count, s) : Samplers.Sequential(lengths.Count), batchSize, dropLast), maxLength);

    public override string ToString() =>
        $"{Examples} examples in {Batches} batches: {RealTokens:N0} real tokens; dynamic padding processes {DynamicTokens:N0} " +
        $"({DynamicEfficiency:P1} real), max_length padding {MaxLengthTokens:N0} ({MaxLengthEfficiency:P1} real): {Saving:F2}x fewer with dynamic padding.";
}
