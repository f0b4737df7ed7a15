using static TorchSharp.torch;

namespace FineTuning.Data;

/// <summary>
/// PyTorch's DataLoader for our <see cref="Dataset"/>: visits the examples in sampler order (sequential, shuffled
/// from a seed, or HF's group_by_length), groups them into batches and collates each into tensors. Each epoch
/// with shuffling draws its order from <c>seed + epoch</c>, so every run and machine sees the same batches.
/// </summary>
/// <param name="dataset">tokenized examples; text columns must be removed first (the collator refuses them).</param>
/// <param name="collator">turns a list of rows into a <see cref="CollatedBatch"/>.</param>
/// <param name="batchSize">examples per batch.</param>
/// <param name="shuffle">random order each epoch (training); false keeps data set order (evaluation).</param>
/// <param name="seed">the shuffle's seed.</param>
/// <param name="dropLast">drop a last, incomplete batch.</param>
/// <param name="groupByLength">HF's LengthGroupedSampler: batches of similar lengths (needs an input_ids column).</param>
/// <param name="device">where the tensors go.</param>
public sealed class DataLoader(Dataset dataset, DataCollatorWithPadding collator, int batchSize, bool shuffle = false, long seed = 42,
                               bool dropLast = false, bool groupByLength = false, Device? device = null)
{
    public Dataset Dataset { get; } = dataset;
    public int BatchSize { get; } = batchSize >= 1 ? batchSize
        : throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "The batch size must be at least 1.");

    /// <summary>Batches per epoch (len(dataloader)).</summary>
    public int Count => dropLast ? Dataset.Count / BatchSize : (Dataset.Count + BatchSize - 1) / BatchSize;

    /// <summary>The example indices of each batch of epoch <paramref name="epoch"/>, without collating.</summary>
    public IEnumerable<int[]> BatchIndices(int epoch = 0)
    {
        var order = groupByLength
            ? Samplers.LengthGrouped(Dataset.Column<int[]>("input_ids").Select(ids => ids.Length).ToArray(), BatchSize, seed + epoch)
            : shuffle ? Samplers.Random(Dataset.Count, seed + epoch) : Samplers.Sequential(Dataset.Count);
        return Samplers.Batches(order, BatchSize, dropLast);
    }

    /// <summary>The collated batches of epoch <paramref name="epoch"/>; dispose each (or use a per-step dispose scope).</summary>
    public IEnumerable<CollatedBatch> Batches(int epoch = 0)
    {
        foreach (var indices in BatchIndices(epoch))
            yield return collator.Collate(indices.Select(i => Dataset[i]).ToArray(), device);
    }
}
