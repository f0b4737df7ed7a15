using TorchSharp;

namespace FineTuning.SafeTensors;

/// <summary>
/// Direct access to a CPU tensor's bytes, so loading and saving copy each tensor exactly once.
/// </summary>
/// <remarks>
/// TorchSharp 0.107 exposes no public data pointer, only <c>Tensor.bytes</c>: a span over the tensor's own
/// memory whose length is an int. Tensors over <see cref="MaxChunkBytes"/> are visited as narrowed views of a
/// flat view, which share memory with the tensor, so no copy is made for big ones either.
/// </remarks>
internal static class TensorMemory
{
    /// <summary>Receives one piece of a tensor's memory and where it starts within the tensor's bytes.</summary>
    internal delegate void ChunkVisitor(Span<byte> chunk, long byteOffset);

    /// <summary>Largest span handed out at once; settable so tests can exercise the chunked path.</summary>
    internal static long MaxChunkBytes = 1L << 30;

    /// <summary>Visits the memory of <paramref name="tensor"/>, which must be a contiguous CPU tensor.</summary>
    internal static void Visit(torch.Tensor tensor, ChunkVisitor visit)
    {
        if (tensor.device_type != DeviceType.CPU || !tensor.is_contiguous())
            throw new ArgumentException("expected a contiguous CPU tensor", nameof(tensor));
        long count = tensor.numel();
        if (count == 0) return;
        long elementSize = tensor.element_size();
        if (checked(count * elementSize) <= MaxChunkBytes)
        {
            visit(tensor.bytes, 0);
            return;
        }
        long perChunk = Math.Max(1, MaxChunkBytes / elementSize);
        using var flat = tensor.view(-1);
        for (long first = 0; first < count; first += perChunk)
        {
            using var part = flat.narrow(0, first, Math.Min(perChunk, count - first));
            visit(part.bytes, first * elementSize);
        }
    }

    /// <summary>
    /// Returns <paramref name="tensor"/> itself when it is already a contiguous CPU tensor (owned = false), else a
    /// new contiguous CPU copy the caller must dispose (owned = true).
    /// </summary>
    internal static torch.Tensor ContiguousCpu(torch.Tensor tensor, out bool owned)
    {
        var current = tensor;
        owned = false;
        if (current.device_type != DeviceType.CPU)
        {
            current = current.cpu();
            owned = true;
        }
        if (!current.is_contiguous())
        {
            var contiguous = current.contiguous();
            if (owned) current.Dispose();
            current = contiguous;
            owned = true;
        }
        return current;
    }
}
